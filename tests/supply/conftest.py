"""A real OCI registry for the supply-chain tests, started once per session.

The registry is CNCF Distribution 2.8 from Debian's `docker-registry` package
(scripts/registry.sh installs it when missing and prints the binary; KUBEWARD_REGISTRY_BIN
skips that). It serves plain HTTP on 127.0.0.1 and a free port, with filesystem storage in
a temp dir; plain HTTP is fine on loopback (nothing leaves the machine) and is what
`kubeward images --verify --registry-insecure` is for. The registry is stopped and the dir
removed at session end, also on failure. Without a registry binary the tests are skipped
with the reason, except under CI=true, where they fail.

Images and signatures are pushed with `oras` (the OCI Registry as Storage Python SDK),
code independent of kubeward's own client, where oras can: it cannot push an image index,
so the referrers-tag index of the bundle tests goes through kubeward.supply.oci.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from tests.conftest import REPO


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "registry: needs a real OCI registry (tests/supply, session fixture)")


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"OCI registry unavailable under CI: {reason}", pytrace=False)
    pytest.skip(f"OCI registry unavailable: {reason}")


def require(module: str, why: str) -> None:
    """Skip without `module` (fail under CI=true, where every test dependency is installed)."""
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{module} is not installed under CI ({why})", pytrace=False)
        pytest.skip(f"{module} is not installed ({why})")


@dataclass(frozen=True)
class Registry:
    host: str  # 127.0.0.1:PORT
    root: Path

    def url(self) -> str:
        return f"http://{self.host}"


def _registry_bin() -> Path:
    explicit = os.environ.get("KUBEWARD_REGISTRY_BIN")
    if explicit:
        return Path(explicit)
    try:
        done = subprocess.run(["bash", str(REPO / "scripts" / "registry.sh")],
                              capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as err:
        unavailable(f"scripts/registry.sh: {err}")
    if done.returncode != 0:
        unavailable(f"scripts/registry.sh failed: {done.stderr.strip()[-500:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(host: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    import httpx2

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            unavailable(f"registry exited: {log.read_text(errors='replace')[-800:]}")
        try:
            if httpx2.get(f"http://{host}/v2/", timeout=1).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.1)
    unavailable(f"registry not ready after 30 s: {log.read_text(errors='replace')[-800:]}")


@pytest.fixture(scope="session")
def registry() -> Iterator[Registry]:
    require("oras", "the tests push images with the oras OCI client: pip install oras")
    binary = _registry_bin()
    if not binary.exists():
        unavailable(f"no registry binary at {binary}")
    tmp = Path(tempfile.mkdtemp(prefix="kubeward-registry-"))
    host = f"127.0.0.1:{_free_port()}"
    config, log = tmp / "config.yml", tmp / "registry.log"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {tmp / 'data'}\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: {host}\n"
    )
    proc = None
    try:
        with log.open("wb") as out:
            proc = subprocess.Popen([str(binary), "serve", str(config)], stdout=out,
                                    stderr=subprocess.STDOUT)
        _wait_ready(host, proc, log)
        yield Registry(host, tmp)
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


# --- pushing with oras, signing as cosign does ---------------------------------------------

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def _oras(registry: Registry) -> object:
    import oras.provider

    return oras.provider.Registry(registry.host, insecure=True)


def _desc(data: bytes, media_type: str, **extra: object) -> dict[str, object]:
    from kubeward.supply.oci import descriptor

    return descriptor(data, media_type, **extra)


def oras_blob(registry: Registry, repo: str, data: bytes, media_type: str,
              tmp: Path) -> dict[str, object]:
    """Upload one blob with oras; returns its descriptor."""
    import oras.container

    desc = _desc(data, media_type)
    path = tmp / str(desc["digest"]).replace(":", "-")
    path.write_bytes(data)
    reg = _oras(registry)
    resp = reg.upload_blob(str(path), oras.container.Container(f"{registry.host}/{repo}:x"),
                           desc)  # type: ignore[attr-defined]
    assert resp.status_code in (200, 201), resp.text
    return desc


def oras_manifest(registry: Registry, repo: str, tag: str, manifest: dict[str, object]) -> str:
    """Push an image manifest with oras under `tag`; returns the digest the registry gave."""
    import oras.container

    reg = _oras(registry)
    resp = reg.upload_manifest(manifest, oras.container.Container(  # type: ignore[attr-defined]
        f"{registry.host}/{repo}:{tag}"))
    assert resp.status_code == 201, resp.text
    return str(resp.headers["Docker-Content-Digest"])


def push_image(registry: Registry, repo: str, tag: str, tmp: Path, content: bytes = b"layer") \
        -> str:
    """A small image (config + one layer) pushed with oras; returns the manifest digest."""
    import json

    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": oras_blob(registry, repo, config, OCI_CONFIG, tmp),
                "layers": [oras_blob(registry, repo, content, LAYER, tmp)]}
    return oras_manifest(registry, repo, tag, manifest)


def cosign_sign(private_key: object, payload: bytes) -> bytes:
    """The signature cosign's SignerVerifier makes: ECDSA/SHA-256 ASN.1, RSA PKCS#1 v1.5
    SHA-256, or Ed25519 over the payload bytes (sigstore pkg/signature)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        return private_key.sign(payload, ec.ECDSA(hashes.SHA256()))
    if isinstance(private_key, rsa.RSAPrivateKey):
        return private_key.sign(payload, padding.PKCS1v15(), hashes.SHA256())
    assert isinstance(private_key, ed25519.Ed25519PrivateKey)
    return private_key.sign(payload)


def push_cosign_signature(registry: Registry, repo: str, digest: str, tmp: Path, *,
                          payload: bytes, signature: bytes) -> str:
    """The `.sig` manifest as `cosign sign` writes it (pkg/oci/mutate + pkg/oci/static): a
    config whose rootfs lists the payload, one simple-signing layer carrying the base64
    signature in the `dev.cosignproject.cosign/signature` annotation."""
    import base64
    import json

    from kubeward.supply.cosign import SIG_ANNOTATION, SIMPLE_SIGNING, signature_tag

    layer = oras_blob(registry, repo, payload, SIMPLE_SIGNING, tmp)
    layer["annotations"] = {SIG_ANNOTATION: base64.b64encode(signature).decode()}
    config = json.dumps({
        "architecture": "", "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}], "os": "",
        "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}, "config": {}},
        separators=(",", ":")).encode()
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": oras_blob(registry, repo, config, OCI_CONFIG, tmp),
                "layers": [layer]}
    return oras_manifest(registry, repo, signature_tag(digest), manifest)

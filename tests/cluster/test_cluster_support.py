"""Fast checks of the cluster-test support code itself (no control plane started here)."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.cluster.kube import (
    PKI,
    AssetsUnavailable,
    find_assets,
    sweep_stale_workdirs,
    unavailable,
    write_kubeconfig,
)


def test_unavailable_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no binaries"):
        unavailable("no binaries")


def test_unavailable_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true: no binaries"):
        unavailable("no binaries")


def test_find_assets_rejects_an_incomplete_kubebuilder_assets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "kube-apiserver").write_text("#!/bin/sh\n")
    (tmp_path / "kube-apiserver").chmod(0o755)
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(tmp_path))
    with pytest.raises(AssetsUnavailable, match="does not hold executable kube-apiserver and etcd"):
        find_assets()


def test_find_assets_takes_an_envtest_folder_as_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("kube-apiserver", "etcd"):
        (tmp_path / name).write_text("#!/bin/sh\n")
        (tmp_path / name).chmod(0o755)
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(tmp_path))
    assert find_assets(build=False) == tmp_path.resolve()


def test_kube_assets_script_honours_kubebuilder_assets(tmp_path: Path) -> None:
    for name in ("kube-apiserver", "etcd"):
        (tmp_path / name).write_text("#!/bin/sh\n")
        (tmp_path / name).chmod(0o755)
    script = Path(__file__).resolve().parents[2] / "scripts" / "kube-assets.sh"
    env = {**os.environ, "KUBEBUILDER_ASSETS": str(tmp_path), "KUBEWARD_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(tmp_path.resolve())
    assert not (tmp_path / "cache").exists()  # nothing built, nothing cached

    env["KUBEBUILDER_ASSETS"] = str(tmp_path / "missing")
    proc = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode != 0
    assert proc.stdout == ""
    assert "does not hold executable kube-apiserver and etcd" in proc.stderr


def _need_cryptography() -> None:
    try:
        import cryptography  # noqa: F401
    except ImportError:
        unavailable("the Python package `cryptography` (test PKI) is not installed")


def test_pki_issues_what_the_control_plane_needs(tmp_path: Path) -> None:
    _need_cryptography()
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    pki = PKI(tmp_path)

    def load(path: Path) -> x509.Certificate:
        return x509.load_pem_x509_certificate(path.read_bytes())

    ca = load(pki.ca.cert)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True

    serving = load(pki.apiserver.cert)
    serving.verify_directly_issued_by(ca)
    sans = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    usage = serving.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]

    admin = load(pki.admin.cert)
    admin.verify_directly_issued_by(ca)
    assert [a.value for a in admin.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == [
        "system:masters"
    ]

    alice = pki.client("alice@example", ["kw:viewers", "kw:devs"])
    cert = load(alice.cert)
    cert.verify_directly_issued_by(ca)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "alice@example"
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == [
        "kw:viewers",
        "kw:devs",
    ]
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]

    load(pki.webhook.cert).verify_directly_issued_by(ca)
    assert b"BEGIN PRIVATE KEY" in pki.sa_key.read_bytes()
    assert b"BEGIN PUBLIC KEY" in pki.sa_pub.read_bytes()
    for key in (pki.ca.key, pki.admin.key, alice.key, pki.sa_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600

    kubeconfig = write_kubeconfig(
        tmp_path / "alice.kubeconfig",
        server="https://127.0.0.1:1",
        ca_pem=pki.ca_pem(),
        user="alice",
        cert=alice,
    )
    config = json.loads(kubeconfig.read_text())
    assert config["current-context"] == "alice"
    assert base64.b64decode(config["users"][0]["user"]["client-certificate-data"]) == alice.cert_pem()
    assert base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]) == pki.ca_pem()
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600


def test_sweep_removes_only_dirs_of_dead_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    stale = tmp_path / "kubeward-cluster-stale"
    live = tmp_path / "kubeward-cluster-live"
    foreign = tmp_path / "kubeward-cluster-nopid"
    for folder, pid in ((stale, dead.stdout.strip()), (live, str(os.getpid())), (foreign, None)):
        folder.mkdir()
        if pid is not None:
            (folder / "owner.pid").write_text(pid)
    sweep_stale_workdirs()
    assert not stale.exists()
    assert live.exists()
    assert foreign.exists()

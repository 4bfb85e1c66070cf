"""An SBOM attestation read from a real registry (Distribution 2.8 on loopback, the session
fixture of tests/supply/conftest.py) through kubeward.supply.cosign, then matched against
the fixture vulnerability database: the whole path of `cosign attest --type cyclonedx`,
through the library and through `kubeward vulns --image`."""

from __future__ import annotations

import base64
import json

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kubeward.cli.main import cli
from kubeward.supply.cosign import (
    DSSE_MEDIA,
    INTOTO,
    dsse_pae,
    fetch_attestations,
    load_public_key,
    signature_tag,
)
from kubeward.supply.match import match_sbom
from kubeward.supply.oci import OCI_MANIFEST, RegistryClient
from kubeward.supply.vulndb import VulnDB
from tests.conftest import REPO
from tests.supply.conftest import OCI_CONFIG, cosign_sign, oras_blob, oras_manifest, push_image

pytestmark = pytest.mark.registry

FIX = REPO / "tests" / "fixtures" / "supply"


def _attested_image(registry, tmp_path, repo: str):
    """Push an image and a `.att` attestation of the fixture SBOM signed with a new key."""
    key = ec.generate_private_key(ec.SECP256R1())
    pub = tmp_path / "cosign.pub"
    pub.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    digest = push_image(registry, repo, "v1", tmp_path, content=repo.encode())
    # the fixture statement, re-pointed at the pushed image, signed as cosign signs (DSSE PAE)
    stmt = json.loads((FIX / "sbom" / "worker.intoto.json").read_text())
    stmt["subject"] = [{"name": f"{registry.host}/{repo}", "digest": {"sha256": digest[7:]}}]
    payload = json.dumps(stmt).encode()
    envelope = {"payloadType": INTOTO, "payload": base64.b64encode(payload).decode(),
                "signatures": [{"keyid": "", "sig": base64.b64encode(
                    cosign_sign(key, dsse_pae(INTOTO, payload))).decode()}]}
    layer = oras_blob(registry, repo, json.dumps(envelope).encode(), DSSE_MEDIA, tmp_path)
    layer["annotations"] = {"dev.cosignproject.cosign/signature": "",
                            "predicateType": "https://cyclonedx.org/bom"}
    config = oras_blob(registry, repo, b'{"rootfs":{"type":"layers"}}', OCI_CONFIG, tmp_path)
    oras_manifest(registry, repo, signature_tag(digest, "att"),
                  {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [layer]})
    return digest, pub


@pytest.fixture(scope="module")
def dbfile(tmp_path_factory):
    path = tmp_path_factory.mktemp("db") / "db.sqlite"
    with VulnDB.create(path) as db:
        db.import_source(FIX / "osv")
    return path


def test_sbom_attestation_from_the_registry_is_matched(registry, tmp_path, dbfile):
    digest, pub = _attested_image(registry, tmp_path, "shop/worker")

    with RegistryClient(registry.host, insecure=True) as client:
        [att] = fetch_attestations(client, "shop/worker", digest, key=load_public_key(pub))
    assert att.verified, att.reason
    sbom = att.sbom()
    assert sbom is not None
    assert sbom.format == "CycloneDX 1.4"

    with VulnDB.open(dbfile) as db:
        [vuln] = match_sbom(sbom, db).vulnerabilities
    assert (vuln.id, vuln.installed, vuln.fixed) == ("GHSA-jfh8-c2jp-5v3q", "2.0-beta9", "2.3.1")
    assert vuln.sbom == att.source


def test_vulns_cli_reads_the_image_attestation(registry, tmp_path, dbfile):
    _digest, pub = _attested_image(registry, tmp_path, "shop/cli")
    plain = push_image(registry, "shop/plain", "v1", tmp_path, content=b"plain")
    r = CliRunner().invoke(cli, [
        "vulns", "--image", f"{registry.host}/shop/cli:v1", "--image", f"{registry.host}/shop/plain@{plain}",
        "--key", str(pub), "--registry-insecure", "--db", str(dbfile), "-o", "json",
        "--fail-on", "CRITICAL"], catch_exceptions=False)
    assert r.exit_code == 1, r.output
    doc = json.loads(r.stdout)
    [sbom] = doc["sboms"]
    assert sbom["via"] == "verified attestation"
    assert sbom["source"].startswith(f"{registry.host}/shop/cli:v1 (")
    assert [v["id"] for v in sbom["vulnerabilities"]] == ["GHSA-jfh8-c2jp-5v3q"]
    assert doc["imagesWithoutSbom"] == [{"image": f"{registry.host}/shop/plain@{plain}", "workloads": [],
                                         "reason": "no verified SBOM attestation"}]
    # another key: the attestation does not verify, so it is not read at all
    other = ec.generate_private_key(ec.SECP256R1())
    other_pub = tmp_path / "other.pub"
    other_pub.write_bytes(other.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    r = CliRunner().invoke(cli, ["vulns", "--image", f"{registry.host}/shop/cli:v1", "--key", str(other_pub),
                                 "--registry-insecure", "--db", str(dbfile), "--require-sbom"])
    assert r.exit_code == 1
    assert "no verified SBOM attestation" in r.stdout
    # an unknown repository is an input error, one line
    r = CliRunner().invoke(cli, ["vulns", "--image", f"{registry.host}/shop/missing:v1", "--key", str(pub),
                                 "--registry-insecure", "--db", str(dbfile)])
    assert r.exit_code == 2
    assert f"error: {registry.host}/shop/missing:v1: " in r.stderr
    assert CliRunner().invoke(cli, ["vulns", "--image", "x/y:1"]).exit_code == 2  # needs --key

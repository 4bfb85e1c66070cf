"""cosign key-based signatures verified against a real registry (Distribution 2.8 on loopback).

Images and `.sig` manifests are pushed with oras; payloads and signatures are made here the
way cosign makes them (tests/supply/conftest.py: simple-signing payload from
kubeward.supply.cosign.simple_signing_payload, the JSON sigstore's SimpleContainerImage
marshals to; ECDSA P-256/SHA-256 ASN.1 as sigstore's ECDSASignerVerifier; the layer
annotation of pkg/oci/static). Keys are generated per test with cryptography.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from kubeward.supply.cosign import (
    BUNDLE_V03,
    DSSE_MEDIA,
    INTOTO,
    SIGN_PREDICATE,
    CosignError,
    dsse_pae,
    fetch_attestations,
    load_public_key,
    signature_tag,
    simple_signing_payload,
    verify_image,
)
from kubeward.supply.oci import OCI_INDEX, OCI_MANIFEST, RegistryClient, descriptor
from tests.supply.conftest import (
    OCI_CONFIG,
    Registry,
    cosign_sign,
    oras_blob,
    oras_manifest,
    push_cosign_signature,
    push_image,
)

pytestmark = pytest.mark.registry


def _pub(private_key: object, tmp: Path, name: str = "cosign.pub") -> Path:
    path = tmp / name
    path.write_bytes(private_key.public_key().public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


@pytest.fixture
def client(registry: Registry):
    with RegistryClient(registry.host, insecure=True) as c:
        yield c


@pytest.fixture
def key():
    return ec.generate_private_key(ec.SECP256R1())


def _signed(registry, tmp_path, key, repo, tag="v1", **kw):
    digest = push_image(registry, repo, tag, tmp_path, content=repo.encode())
    payload = simple_signing_payload(digest, f"{registry.host}/{repo}")
    push_cosign_signature(registry, repo, digest, tmp_path, payload=payload,
                          signature=cosign_sign(key, payload), **kw)
    return digest, payload


def test_valid_signature_verifies_by_tag_and_by_digest(registry, client, key, tmp_path):
    digest, _ = _signed(registry, tmp_path, key, "shop/api")
    pub = load_public_key(_pub(key, tmp_path))
    res = verify_image(client, "shop/api", "v1", key=pub)
    assert res.status == "verified", res.reason
    assert res.digest == digest
    assert res.checks[0].valid and not res.checks[0].notes
    assert verify_image(client, "shop/api", digest, key=pub).ok


@pytest.mark.parametrize("make", [lambda: rsa.generate_private_key(65537, 2048),
                                  ed25519.Ed25519PrivateKey.generate,
                                  lambda: ec.generate_private_key(ec.SECP384R1())],
                         ids=["rsa", "ed25519", "p384"])
def test_other_key_types(registry, client, tmp_path, make):
    key = make()
    repo = f"keys/{type(key).__name__.lower()}"
    _signed(registry, tmp_path, key, repo)
    res = verify_image(client, repo, "v1", key=load_public_key(_pub(key, tmp_path)))
    assert res.ok, res.reason


def test_unsigned_image(registry, client, key, tmp_path):
    push_image(registry, "shop/unsigned", "v1", tmp_path)
    res = verify_image(client, "shop/unsigned", "v1", key=load_public_key(_pub(key, tmp_path)))
    assert res.status == "unsigned"
    assert res.reason == "no signatures found"


def test_wrong_key_fails(registry, client, key, tmp_path):
    _signed(registry, tmp_path, key, "shop/wrongkey")
    other = ec.generate_private_key(ec.SECP256R1())
    res = verify_image(client, "shop/wrongkey", "v1",
                       key=load_public_key(_pub(other, tmp_path, "other.pub")))
    assert res.status == "failed"
    assert "does not verify with the given key" in res.reason


def test_tampered_signature_fails(registry, client, key, tmp_path):
    digest = push_image(registry, "shop/tsig", "v1", tmp_path)
    payload = simple_signing_payload(digest, f"{registry.host}/shop/tsig")
    sig = bytearray(cosign_sign(key, payload))
    sig[-3] ^= 0x01
    push_cosign_signature(registry, "shop/tsig", digest, tmp_path, payload=payload,
                          signature=bytes(sig))
    res = verify_image(client, "shop/tsig", "v1", key=load_public_key(_pub(key, tmp_path)))
    assert res.status == "failed"
    assert "does not verify" in res.reason


def test_tampered_payload_fails(registry, client, key, tmp_path):
    digest = push_image(registry, "shop/tpay", "v1", tmp_path)
    payload = simple_signing_payload(digest, f"{registry.host}/shop/tpay")
    sig = cosign_sign(key, payload)
    forged = simple_signing_payload(digest, f"{registry.host}/shop/tpay",
                                    optional={"approved": "yes"})
    push_cosign_signature(registry, "shop/tpay", digest, tmp_path, payload=forged, signature=sig)
    res = verify_image(client, "shop/tpay", "v1", key=load_public_key(_pub(key, tmp_path)))
    assert res.status == "failed"
    assert "tampered payload or signature" in res.reason


def test_payload_naming_another_digest_fails(registry, client, key, tmp_path):
    digest = push_image(registry, "shop/claim", "v1", tmp_path)
    other = "sha256:" + "ab" * 32
    payload = simple_signing_payload(other, f"{registry.host}/shop/claim")
    push_cosign_signature(registry, "shop/claim", digest, tmp_path, payload=payload,
                          signature=cosign_sign(key, payload))
    res = verify_image(client, "shop/claim", "v1", key=load_public_key(_pub(key, tmp_path)))
    assert res.status == "failed"
    assert f"invalid or missing digest in claim: {other}" in res.reason


def test_tag_moved_after_signing(registry, client, key, tmp_path):
    first, payload = _signed(registry, tmp_path, key, "shop/moved")
    pub = load_public_key(_pub(key, tmp_path))
    assert verify_image(client, "shop/moved", "v1", key=pub).ok
    second = push_image(registry, "shop/moved", "v1", tmp_path, content=b"other content")
    assert second != first
    moved = verify_image(client, "shop/moved", "v1", key=pub)
    assert moved.status == "unsigned" and moved.digest == second
    # Copying the old signature next to the new digest does not help: the claim names `first`.
    push_cosign_signature(registry, "shop/moved", second, tmp_path, payload=payload,
                          signature=cosign_sign(key, payload))
    copied = verify_image(client, "shop/moved", "v1", key=pub)
    assert copied.status == "failed"
    assert "invalid or missing digest in claim" in copied.reason
    # The pinned first digest still verifies.
    assert verify_image(client, "shop/moved", first, key=pub).ok


def test_one_valid_signature_among_several_is_enough(registry, client, key, tmp_path):
    """cosign appends a layer per signature; verification needs one valid (verify.go)."""
    digest = push_image(registry, "shop/multi", "v1", tmp_path)
    payload = simple_signing_payload(digest, f"{registry.host}/shop/multi")
    other = ec.generate_private_key(ec.SECP256R1())
    layers = []
    for k in (other, key):
        layer = oras_blob(registry, "shop/multi", payload,
                          "application/vnd.dev.cosign.simplesigning.v1+json", tmp_path)
        layer["annotations"] = {"dev.cosignproject.cosign/signature":
                                base64.b64encode(cosign_sign(k, payload)).decode()}
        layers.append(layer)
    config = oras_blob(registry, "shop/multi", b'{"rootfs":{"type":"layers"}}', OCI_CONFIG,
                       tmp_path)
    oras_manifest(registry, "shop/multi", signature_tag(digest),
                  {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config,
                   "layers": layers})
    res = verify_image(client, "shop/multi", "v1", key=load_public_key(_pub(key, tmp_path)))
    assert res.ok
    assert [c.valid for c in res.checks] == [False, True]
    assert res.reason == "1 of 2 signatures valid"


def test_docker_reference_mismatch_is_a_note(registry, client, key, tmp_path):
    digest = push_image(registry, "shop/ref", "v1", tmp_path)
    payload = simple_signing_payload(digest, "ghcr.io/elsewhere/app")
    push_cosign_signature(registry, "shop/ref", digest, tmp_path, payload=payload,
                          signature=cosign_sign(key, payload))
    res = verify_image(client, "shop/ref", "v1", key=load_public_key(_pub(key, tmp_path)))
    assert res.ok
    assert "ghcr.io/elsewhere/app" in res.checks[0].notes[0]


def test_missing_image_is_an_error_not_a_crash(client, key, tmp_path):
    res = verify_image(client, "shop/nothing", "v1", key=load_public_key(_pub(key, tmp_path)))
    assert res.status == "error"
    assert "HTTP 404" in res.reason and "MANIFEST_UNKNOWN" in res.reason


def test_bad_key_file(tmp_path):
    (tmp_path / "k.pub").write_text("not a key")
    with pytest.raises(CosignError, match=r"k\.pub: not a PEM public key"):
        load_public_key(tmp_path / "k.pub")
    with pytest.raises(CosignError, match=r"missing\.pub"):
        load_public_key(tmp_path / "missing.pub")


# --- attestations and Sigstore bundles ------------------------------------------------------

CYCLONEDX = {"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
             "components": [{"type": "library", "name": "openssl", "version": "3.0.13",
                             "purl": "pkg:deb/debian/openssl@3.0.13?distro=debian-12"}]}


def _statement(digest: str, predicate_type: str, predicate: object) -> bytes:
    return json.dumps({"_type": "https://in-toto.io/Statement/v1",
                       "subject": [{"name": "app", "digest": {"sha256": digest[7:]}}],
                       "predicateType": predicate_type, "predicate": predicate}).encode()


def _envelope(key, statement: bytes) -> dict[str, object]:
    return {"payloadType": INTOTO, "payload": base64.b64encode(statement).decode(),
            "signatures": [{"keyid": "", "sig": base64.b64encode(
                cosign_sign(key, dsse_pae(INTOTO, statement))).decode()}]}


def test_att_attestation_with_sbom(registry, client, key, tmp_path):
    """`cosign attest --type cyclonedx`: a DSSE envelope layer under `sha256-<hex>.att`."""
    digest = push_image(registry, "shop/att", "v1", tmp_path)
    good = json.dumps(_envelope(key, _statement(digest, "https://cyclonedx.org/bom",
                                                CYCLONEDX))).encode()
    tampered_env = _envelope(key, _statement(digest, "https://cyclonedx.org/bom", CYCLONEDX))
    tampered_env["payload"] = base64.b64encode(
        _statement(digest, "https://cyclonedx.org/bom", {"components": []})).decode()
    bad = json.dumps(tampered_env).encode()
    layers = []
    for blob in (good, bad):
        layer = oras_blob(registry, "shop/att", blob, DSSE_MEDIA, tmp_path)
        layer["annotations"] = {"dev.cosignproject.cosign/signature": "",
                                "predicateType": "https://cyclonedx.org/bom"}
        layers.append(layer)
    config = oras_blob(registry, "shop/att", b'{"rootfs":{"type":"layers"}}', OCI_CONFIG,
                       tmp_path)
    oras_manifest(registry, "shop/att", signature_tag(digest, "att"),
                  {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config,
                   "layers": layers})
    atts = fetch_attestations(client, "shop/att", digest, key=load_public_key(_pub(key, tmp_path)))
    assert [a.verified for a in atts] == [True, False]
    assert atts[0].predicate_type == "https://cyclonedx.org/bom"
    assert "DSSE signature does not verify" in atts[1].reason
    sbom = atts[0].sbom()
    assert sbom is not None
    assert [p.name for p in sbom.packages] == ["openssl"]
    assert atts[1].sbom() is None


def _push_bundle_referrer(registry, client, repo, digest, bundle, predicate_type, tmp_path):
    """cosign 3's layout: an OCI manifest with artifactType bundle v0.3 and `subject`, found
    through the referrers tag schema (Distribution 2.8 has no referrers API)."""
    blob = json.dumps(bundle).encode()
    layer = oras_blob(registry, repo, blob, BUNDLE_V03, tmp_path)
    empty = oras_blob(registry, repo, b"{}", "application/vnd.oci.empty.v1+json", tmp_path)
    image = client.manifest(repo, digest)
    ann = {"dev.sigstore.bundle.content": "dsse-envelope",
           "dev.sigstore.bundle.predicateType": predicate_type}
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": BUNDLE_V03,
                "config": empty, "layers": [layer],
                "subject": {"mediaType": image.media_type, "digest": digest,
                            "size": len(image.raw)},
                "annotations": ann}
    raw = json.dumps(manifest).encode()
    ref_digest = client.push_manifest(repo, descriptor(raw, OCI_MANIFEST)["digest"], raw,
                                      OCI_MANIFEST)
    tag = digest.replace(":", "-")
    existing = client.manifest(repo, tag).manifests if client.exists(repo, tag) else []
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX,
             "manifests": [*existing, {"mediaType": OCI_MANIFEST, "digest": ref_digest,
                                       "size": len(raw), "artifactType": BUNDLE_V03,
                                       "annotations": ann}]}
    client.push_manifest(repo, tag, index, OCI_INDEX)


def _bundle(key, statement: bytes) -> dict[str, object]:
    return {"mediaType": BUNDLE_V03,
            "verificationMaterial": {"publicKey": {"hint": "test"}, "tlogEntries": []},
            "dsseEnvelope": _envelope(key, statement)}


def test_new_bundle_format_signature(registry, client, key, tmp_path):
    digest = push_image(registry, "shop/bundle", "v1", tmp_path)
    _push_bundle_referrer(registry, client, "shop/bundle", digest,
                          _bundle(key, _statement(digest, SIGN_PREDICATE, {})), SIGN_PREDICATE,
                          tmp_path)
    pub = load_public_key(_pub(key, tmp_path))
    res = verify_image(client, "shop/bundle", "v1", key=pub)
    assert res.ok, res.reason
    assert res.checks[0].source.startswith("referrer sha256:")
    other = ec.generate_private_key(ec.SECP256R1())
    wrong = verify_image(client, "shop/bundle", "v1",
                         key=load_public_key(_pub(other, tmp_path, "o.pub")))
    assert wrong.status == "failed" and "DSSE signature does not verify" in wrong.reason


def test_bundle_for_another_digest_fails(registry, client, key, tmp_path):
    digest = push_image(registry, "shop/bundle2", "v1", tmp_path)
    statement = _statement("sha256:" + "cd" * 32, SIGN_PREDICATE, {})
    _push_bundle_referrer(registry, client, "shop/bundle2", digest, _bundle(key, statement),
                          SIGN_PREDICATE, tmp_path)
    res = verify_image(client, "shop/bundle2", "v1", key=load_public_key(_pub(key, tmp_path)))
    assert res.status == "failed"
    assert "no matching subject digest" in res.reason


def test_bundle_attestation_is_not_a_signature(registry, client, key, tmp_path):
    digest = push_image(registry, "shop/bundle3", "v1", tmp_path)
    _push_bundle_referrer(registry, client, "shop/bundle3", digest,
                          _bundle(key, _statement(digest, "https://cyclonedx.org/bom",
                                                  CYCLONEDX)),
                          "https://cyclonedx.org/bom", tmp_path)
    pub = load_public_key(_pub(key, tmp_path))
    assert verify_image(client, "shop/bundle3", "v1", key=pub).status == "unsigned"
    [att] = fetch_attestations(client, "shop/bundle3", digest, key=pub)
    assert att.verified and att.predicate_type == "https://cyclonedx.org/bom"
    assert att.sbom().packages[0].name == "openssl"

"""Keyless verification with the real `sigstore` library, offline, against a test trust root.

Sigstore's public services cannot be reached (and must not be: verification is offline), so
the test plays them, with keys generated here: a Fulcio-like CA issues the signing
certificate (SAN = the identity, extension 1.3.6.1.4.1.57264.1.1 = the OIDC issuer, code
signing EKU) with an embedded SCT signed by a CT-log key over the precertificate (RFC 6962
§3.2); a Rekor-like log key signs the entry's inclusion promise (SET over the canonical
entry) and the checkpoint of a one-leaf Merkle tree (RFC 6962 §2.1: the root is the leaf
hash). The trusted root JSON lists the three keys as Sigstore's trusted_root.json does.
Nothing in sigstore is mocked: the bundle goes through `Verifier.verify_dsse` in full.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kubeward.supply.cosign import (
    BUNDLE_V03,
    CERT_ANNOTATION,
    INTOTO,
    SIG_ANNOTATION,
    SIGN_PREDICATE,
    SIMPLE_SIGNING,
    dsse_pae,
    signature_tag,
    simple_signing_payload,
    verify_image,
)
from kubeward.supply.keyless import KeylessPolicy, check_trusted_root, verify_bundle
from kubeward.supply.oci import OCI_INDEX, OCI_MANIFEST, RegistryClient
from tests.supply.conftest import OCI_CONFIG, oras_blob, oras_manifest, push_image, require

IDENTITY = "https://github.com/acme/app/.github/workflows/release.yaml@refs/heads/main"
ISSUER = "https://token.actions.githubusercontent.com"
SCT_OID = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
OIDC_ISSUER_OID = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")


def _spki(key: Any) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _der_octets(data: bytes) -> bytes:
    """DER OCTET STRING (definite length)."""
    n = len(data)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return b"\x04" + length + data


@dataclass
class FakeSigstore:
    ca_key: Any
    ca_cert: x509.Certificate
    ct_key: Any
    rekor_key: Any
    now: dt.datetime

    @classmethod
    def create(cls) -> FakeSigstore:
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        ca_key = ec.generate_private_key(ec.SECP384R1())
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "test-sigstore"),
                          x509.NameAttribute(NameOID.COMMON_NAME, "test-fulcio")])
        ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
        ca_cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(days=1))
                   .not_valid_after(now + dt.timedelta(days=365))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
                   .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                                False, False), critical=True)
                   .add_extension(ski, critical=False)
                   .sign(ca_key, hashes.SHA384()))
        return cls(ca_key, ca_cert, ec.generate_private_key(ec.SECP256R1()),
                   ec.generate_private_key(ec.SECP256R1()), now)

    def trusted_root(self, path: Path, *, ca_cert: x509.Certificate | None = None) -> Path:
        start = (self.now - dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")

        def log(key: Any, url: str) -> dict[str, Any]:
            return {"baseUrl": url, "hashAlgorithm": "SHA2_256",
                    "publicKey": {"rawBytes": _b64(_spki(key)),
                                  "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                                  "validFor": {"start": start}},
                    "logId": {"keyId": _b64(hashlib.sha256(_spki(key)).digest())}}

        cert = ca_cert or self.ca_cert
        root = {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [log(self.rekor_key, "https://rekor.test")],
            "certificateAuthorities": [{
                "subject": {"organization": "test-sigstore", "commonName": "test-fulcio"},
                "uri": "https://fulcio.test",
                "certChain": {"certificates": [
                    {"rawBytes": _b64(cert.public_bytes(serialization.Encoding.DER))}]},
                "validFor": {"start": start}}],
            "ctlogs": [log(self.ct_key, "https://ctfe.test")],
            "timestampAuthorities": [],
        }
        path.write_text(json.dumps(root))
        return path

    def leaf(self, identity: str = IDENTITY, issuer: str = ISSUER) -> tuple[Any, x509.Certificate]:
        """A Fulcio-like signing certificate with an embedded SCT (RFC 6962 §3.3)."""
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (x509.CertificateBuilder().subject_name(x509.Name([]))
                   .issuer_name(self.ca_cert.subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(self.now - dt.timedelta(minutes=5))
                   .not_valid_after(self.now + dt.timedelta(minutes=10))
                   .add_extension(x509.KeyUsage(True, False, False, False, False, False, False,
                                                False, False), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]),
                                  critical=False)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                                  critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                       self.ca_key.public_key()), critical=False)
                   .add_extension(x509.SubjectAlternativeName(
                       [x509.UniformResourceIdentifier(identity)]), critical=True)
                   .add_extension(x509.UnrecognizedExtension(OIDC_ISSUER_OID, issuer.encode()),
                                  critical=False))
        precert_tbs = builder.sign(self.ca_key, hashes.SHA384()).tbs_certificate_bytes
        ts_ms = int(self.now.timestamp() * 1000)
        issuer_key_hash = hashlib.sha256(_spki(self.ca_key)).digest()
        signed = (struct.pack("!BBQH", 0, 0, ts_ms, 1) + issuer_key_hash
                  + len(precert_tbs).to_bytes(3, "big") + precert_tbs + struct.pack("!H", 0))
        sig = self.ct_key.sign(signed, ec.ECDSA(hashes.SHA256()))
        log_id = hashlib.sha256(_spki(self.ct_key)).digest()
        sct = (struct.pack("!B", 0) + log_id + struct.pack("!QH", ts_ms, 0)
               + struct.pack("!BBH", 4, 3, len(sig)) + sig)
        sct_list = struct.pack("!H", len(sct) + 2) + struct.pack("!H", len(sct)) + sct
        cert = builder.add_extension(x509.UnrecognizedExtension(SCT_OID, _der_octets(sct_list)),
                                     critical=False).sign(self.ca_key, hashes.SHA384())
        assert cert.tbs_precertificate_bytes == precert_tbs
        return key, cert

    def bundle(self, statement: bytes, *, identity: str = IDENTITY, issuer: str = ISSUER,
               tamper_payload: bytes | None = None, with_tlog: bool = True) -> dict[str, Any]:
        """A Sigstore bundle v0.3 as `cosign sign --new-bundle-format` makes it, with a
        dsse/0.0.1 Rekor entry (inclusion promise + proof with a signed checkpoint)."""
        key, cert = self.leaf(identity, issuer)
        sig = key.sign(dsse_pae(INTOTO, statement), ec.ECDSA(hashes.SHA256()))
        envelope = {"payload": _b64(tamper_payload or statement), "payloadType": INTOTO,
                    "signatures": [{"sig": _b64(sig), "keyid": ""}]}
        material: dict[str, Any] = {
            "certificate": {"rawBytes": _b64(cert.public_bytes(serialization.Encoding.DER))},
            "tlogEntries": []}
        if with_tlog:
            material["tlogEntries"] = [self._entry(statement, envelope, sig, cert)]
        return {"mediaType": BUNDLE_V03, "verificationMaterial": material,
                "dsseEnvelope": envelope}

    def _entry(self, statement: bytes, envelope: dict[str, Any], sig: bytes,
               cert: x509.Certificate) -> dict[str, Any]:
        body = json.dumps({
            "apiVersion": "0.0.1", "kind": "dsse",
            "spec": {"envelopeHash": {"algorithm": "sha256", "value": hashlib.sha256(
                         json.dumps(envelope).encode()).hexdigest()},
                     "payloadHash": {"algorithm": "sha256",
                                     "value": hashlib.sha256(statement).hexdigest()},
                     "signatures": [{"signature": _b64(sig), "verifier": _b64(
                         cert.public_bytes(serialization.Encoding.PEM))}]}},
            separators=(",", ":"), sort_keys=True).encode()
        log_id = hashlib.sha256(_spki(self.rekor_key)).digest()
        integrated = int(self.now.timestamp())
        set_payload = json.dumps({"body": _b64(body), "integratedTime": integrated,
                                  "logID": log_id.hex(), "logIndex": 0},
                                 separators=(",", ":"), sort_keys=True).encode()
        set_sig = self.rekor_key.sign(set_payload, ec.ECDSA(hashes.SHA256()))
        root = hashlib.sha256(b"\x00" + body).digest()  # one leaf: root = leaf hash
        note = f"rekor.test - 1\n1\n{_b64(root)}\n"
        note_sig = self.rekor_key.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
        checkpoint = f"{note}\n\u2014 rekor.test {_b64(log_id[:4] + note_sig)}\n"
        return {"logIndex": "0", "logId": {"keyId": _b64(log_id)},
                "kindVersion": {"kind": "dsse", "version": "0.0.1"},
                "integratedTime": str(integrated),
                "inclusionPromise": {"signedEntryTimestamp": _b64(set_sig)},
                "inclusionProof": {"logIndex": "0", "rootHash": _b64(root), "treeSize": "1",
                                   "hashes": [], "checkpoint": {"envelope": checkpoint}},
                "canonicalizedBody": _b64(body)}


def _statement(digest: str, predicate_type: str = SIGN_PREDICATE) -> bytes:
    return json.dumps({"_type": "https://in-toto.io/Statement/v1",
                       "subject": [{"name": "app", "digest": {"sha256": digest[7:]}}],
                       "predicateType": predicate_type, "predicate": {}}).encode()


@pytest.fixture(scope="module")
def fake() -> FakeSigstore:
    require("sigstore", "keyless verification uses the sigstore library: pip install sigstore")
    return FakeSigstore.create()


@pytest.fixture
def policy(fake, tmp_path) -> KeylessPolicy:
    return KeylessPolicy(fake.trusted_root(tmp_path / "trusted_root.json"), IDENTITY, ISSUER)


DIGEST = "sha256:" + "ab" * 32


def test_valid_bundle_verifies(fake, policy):
    payload, why = verify_bundle(policy, fake.bundle(_statement(DIGEST)))
    assert why == ""
    assert json.loads(payload)["predicateType"] == SIGN_PREDICATE


def test_wrong_identity_or_issuer_fails(fake, policy):
    _, why = verify_bundle(policy, fake.bundle(_statement(DIGEST),
                                               identity="https://github.com/evil/x"))
    assert why.startswith("keyless verification failed: Certificate's SANs do not match")
    _, why = verify_bundle(policy, fake.bundle(_statement(DIGEST),
                                               issuer="https://accounts.example.com"))
    assert "OIDCIssuer does not match" in why


def test_untrusted_ca_fails(fake, tmp_path):
    other = FakeSigstore.create()
    root = fake.trusted_root(tmp_path / "other_root.json", ca_cert=other.ca_cert)
    _, why = verify_bundle(KeylessPolicy(root, IDENTITY, ISSUER),
                           fake.bundle(_statement(DIGEST)))
    assert why.startswith("keyless verification failed:")
    assert "chain" in why.lower() or "issuer" in why.lower()


def test_tampered_payload_fails(fake, policy):
    forged = _statement("sha256:" + "cd" * 32)
    _, why = verify_bundle(policy, fake.bundle(_statement(DIGEST), tamper_payload=forged))
    assert why.startswith("keyless verification failed:")


def test_bundle_without_tlog_entry_is_refused(fake, policy):
    _, why = verify_bundle(policy, fake.bundle(_statement(DIGEST), with_tlog=False))
    assert why == "invalid Sigstore bundle: expected exactly one log entry in bundle"


def test_unusable_trusted_root(fake, tmp_path):
    bad = tmp_path / "root.json"
    bad.write_text("{}")
    _, why = verify_bundle(KeylessPolicy(bad, IDENTITY, ISSUER), fake.bundle(_statement(DIGEST)))
    assert why.startswith(f"{bad}: not a usable trusted root")


def test_check_trusted_root_up_front(fake, tmp_path):
    """Review 2026-11-24: `images --verify --trusted-root junk` went to the registries and
    reported an error per image; the root is now checked first (one line, exit 2)."""
    assert check_trusted_root(fake.trusted_root(tmp_path / "trusted_root.json")) is None
    for text in ("{}", "[1]", "\xff"):
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        why = check_trusted_root(bad)
        assert why is not None and why.startswith(f"{bad}: not a usable trusted root")
        assert "\n" not in why


@pytest.mark.registry
def test_keyless_against_the_registry(registry, fake, policy, tmp_path):
    """The bundle as a referrer of the pushed image; then a legacy keyless `.sig`."""
    with RegistryClient(registry.host, insecure=True) as client:
        digest = push_image(registry, "keyless/app", "v1", tmp_path)
        bundle = json.dumps(fake.bundle(_statement(digest))).encode()
        layer = oras_blob(registry, "keyless/app", bundle, BUNDLE_V03, tmp_path)
        empty = oras_blob(registry, "keyless/app", b"{}", "application/vnd.oci.empty.v1+json",
                          tmp_path)
        image = client.manifest("keyless/app", digest)
        ann = {"dev.sigstore.bundle.predicateType": SIGN_PREDICATE}
        ref = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": BUNDLE_V03,
               "config": empty, "layers": [layer], "annotations": ann,
               "subject": {"mediaType": image.media_type, "digest": digest,
                           "size": len(image.raw)}}
        raw = json.dumps(ref).encode()
        ref_digest = client.push_manifest("keyless/app", "referrer", raw, OCI_MANIFEST)
        client.push_manifest("keyless/app", digest.replace(":", "-"), {
            "schemaVersion": 2, "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": OCI_MANIFEST, "digest": ref_digest, "size": len(raw),
                           "artifactType": BUNDLE_V03, "annotations": ann}]}, OCI_INDEX)
        res = verify_image(client, "keyless/app", "v1", keyless=policy)
        assert res.ok, res.reason

        wrong = KeylessPolicy(policy.trusted_root, "https://github.com/evil/x", ISSUER)
        res = verify_image(client, "keyless/app", "v1", keyless=wrong)
        assert res.status == "failed"
        assert "SANs do not match" in res.reason

        # Legacy keyless `.sig`: certificate in an annotation, no inclusion proof anywhere.
        legacy = push_image(registry, "keyless/legacy", "v1", tmp_path, content=b"legacy")
        key, cert = fake.leaf()
        payload = simple_signing_payload(legacy, f"{registry.host}/keyless/legacy")
        sig_layer = oras_blob(registry, "keyless/legacy", payload, SIMPLE_SIGNING, tmp_path)
        sig_layer["annotations"] = {
            SIG_ANNOTATION: _b64(key.sign(payload, ec.ECDSA(hashes.SHA256()))),
            CERT_ANNOTATION: cert.public_bytes(serialization.Encoding.PEM).decode()}
        config = oras_blob(registry, "keyless/legacy", b'{"rootfs":{"type":"layers"}}',
                           OCI_CONFIG, tmp_path)
        oras_manifest(registry, "keyless/legacy", signature_tag(legacy),
                      {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config,
                       "layers": [sig_layer]})
        res = verify_image(client, "keyless/legacy", "v1", keyless=policy)
        assert res.status == "failed"
        assert "inclusion proof, which sigstore 4.5.1 requires" in res.reason


@pytest.mark.parametrize(("swap", "expected"), [
    ("ct_key", "failed to verify SCT on signing certificate"),
    ("rekor_key", "invalid log entry: checkpoint: invalid signature"),
])
def test_untrusted_log_keys_fail(fake, tmp_path, swap, expected):
    """The trusted root names other CT / Rekor keys than the ones that signed."""
    import copy

    other = copy.copy(fake)
    setattr(other, swap, ec.generate_private_key(ec.SECP256R1()))
    root = other.trusted_root(tmp_path / "root.json")
    _, why = verify_bundle(KeylessPolicy(root, IDENTITY, ISSUER), fake.bundle(_statement(DIGEST)))
    assert expected in why


def test_tampered_log_entry_fails(fake, policy):
    bundle = fake.bundle(_statement(DIGEST))
    entry = bundle["verificationMaterial"]["tlogEntries"][0]
    entry["integratedTime"] = str(int(entry["integratedTime"]) + 1)
    _, why = verify_bundle(policy, bundle)
    assert "SET: invalid inclusion promise" in why


def test_wildcard_identity_as_in_the_seed_policy(fake, policy):
    """The seed's Kyverno policy gives `subject: https://github.com/acme/app/*`."""
    bundle = fake.bundle(_statement(DIGEST))
    ok = KeylessPolicy(policy.trusted_root, "https://github.com/acme/app/*", ISSUER)
    assert verify_bundle(ok, bundle)[1] == ""
    bad = KeylessPolicy(policy.trusted_root, "https://github.com/evil/*", ISSUER)
    assert "SANs do not match https://github.com/evil/*" in verify_bundle(bad, bundle)[1]
    wrong_issuer = KeylessPolicy(policy.trusted_root, "https://github.com/acme/*",
                                 "https://gitlab.com")
    assert "OIDCIssuer does not match" in verify_bundle(wrong_issuer, bundle)[1]

"""Verify cosign signatures and attestations of an image in an OCI registry.

Formats, as cosign writes them (github.com/sigstore/cosign):

- Signatures (cosign 1/2, `cosign sign --key`): an OCI image manifest tagged
  `sha256-<hex>.sig` in the image's repository (pkg/oci/remote/remote.go `SignatureTag`,
  suffix `sig`). Each layer is one signature: mediaType
  `application/vnd.dev.cosign.simplesigning.v1+json` (pkg/types/media.go
  `SimpleSigningMediaType`), the blob is the simple-signing payload
  `{"critical":{"identity":{"docker-reference":…},"image":{"docker-manifest-digest":…},
  "type":"cosign container image signature"},"optional":…}` (sigstore/sigstore
  pkg/signature/payload `SimpleContainerImage`), and the layer annotation
  `dev.cosignproject.cosign/signature` is the base64 signature over the payload bytes
  (pkg/oci/static/signature.go; keys in pkg/oci/static/options.go). Keyless signatures add
  `dev.sigstore.cosign/certificate`, `…/chain` and the Rekor `…/bundle`.
- Verification (pkg/cosign/verify.go `VerifyImageSignatures`): resolve the image digest,
  read the `.sig` manifest (none: "no signatures found"), check each signature against the
  key; the image passes when at least one signature is valid and its payload's
  `critical.image.docker-manifest-digest` equals the image digest (pkg/cosign/verifiers.go
  `SimpleClaimVerifier`: "invalid or missing digest in claim"). `docker-reference` is not
  enforced by cosign either; a mismatch is reported as a note.
- Signatures with `--new-bundle-format` (cosign 3 default): a Sigstore bundle v0.3 whose
  DSSE envelope holds an in-toto statement of predicate type
  `https://sigstore.dev/cosign/sign/v1` with the image digest as subject, stored as an OCI
  1.1 referrer (artifactType `application/vnd.dev.sigstore.bundle.v0.3+json`).
- Attestations: the `sha256-<hex>.att` manifest, layers of mediaType
  `application/vnd.dsse.envelope.v1+json` holding DSSE envelopes (payload type
  `application/vnd.in-toto+json`), or bundle referrers; the statement's subject must name
  the image digest (`IntotoSubjectClaimVerifier`).

Keys: ECDSA (P-256/384/521) with SHA-256 over the payload and an ASN.1 signature, RSA
PKCS#1 v1.5 with SHA-256, Ed25519 — what sigstore's `signature.LoadVerifier(key,
crypto.SHA256)` does for `cosign verify --key`. DSSE signatures are over PAE(type, payload)
(DSSE v1 protocol). Key-based verification here does not check a transparency-log entry
(offline, like `cosign verify --insecure-ignore-tlog`); keyless goes through
`kubeward.supply.keyless` (the `sigstore` library).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubeward.supply.oci import OciError, RegistryClient

if TYPE_CHECKING:
    from kubeward.supply.keyless import KeylessPolicy

__all__ = [
    "ATT_SUFFIX",
    "Attestation",
    "CosignError",
    "SigCheck",
    "VerifyResult",
    "dsse_pae",
    "fetch_attestations",
    "load_public_key",
    "signature_tag",
    "simple_signing_payload",
    "verify_blob_signature",
    "verify_image",
]

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE_MEDIA = "application/vnd.dsse.envelope.v1+json"
INTOTO = "application/vnd.in-toto+json"
SIG_ANNOTATION = "dev.cosignproject.cosign/signature"
CERT_ANNOTATION = "dev.sigstore.cosign/certificate"
CHAIN_ANNOTATION = "dev.sigstore.cosign/chain"
BUNDLE_ANNOTATION = "dev.sigstore.cosign/bundle"
BUNDLE_MEDIA_PREFIX = "application/vnd.dev.sigstore.bundle"
BUNDLE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"
SIMPLE_TYPE = "cosign container image signature"
SIG_SUFFIX, ATT_SUFFIX = "sig", "att"
MAX_PAYLOAD = 16 << 20


class CosignError(Exception):
    """A key or option that cannot be used; one line naming the file."""


def signature_tag(digest: str, suffix: str = SIG_SUFFIX) -> str:
    """cosign's tag for an image digest's signatures/attestations: `sha256-<hex>.sig`."""
    algo, _, hexpart = digest.partition(":")
    return f"{algo}-{hexpart}.{suffix}"


def simple_signing_payload(digest: str, docker_reference: str,
                           optional: Mapping[str, Any] | None = None) -> bytes:
    """The payload `cosign sign` signs, byte for byte as Go's json.Marshal writes it
    (struct field order, no spaces, `"optional":null` when there are no annotations)."""
    doc = {"critical": {"identity": {"docker-reference": docker_reference},
                        "image": {"docker-manifest-digest": digest},
                        "type": SIMPLE_TYPE},
           "optional": dict(optional) if optional else None}
    return json.dumps(doc, separators=(",", ":")).encode()


def dsse_pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: `DSSEv1 SP len(type) SP type SP len(body) SP body`."""
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def load_public_key(path: str | Path) -> Any:
    """A PEM public key (what `cosign generate-key-pair` writes as cosign.pub)."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise CosignError(f"{path}: {err.strerror or err}") from None
    try:
        key = load_pem_public_key(data)
    except (ValueError, TypeError):
        raise CosignError(f"{path}: not a PEM public key (expected -----BEGIN PUBLIC KEY-----)") \
            from None
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey |
                      ed25519.Ed25519PublicKey):
        raise CosignError(f"{path}: unsupported key type {type(key).__name__} "
                          "(ECDSA, RSA or Ed25519)")
    return key


def verify_blob_signature(key: Any, data: bytes, signature: bytes) -> bool:
    """Whether `signature` over `data` verifies with `key` (see the module docstring)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        else:
            return False
    except InvalidSignature:
        return False
    return True


@dataclass(slots=True, frozen=True)
class SigCheck:
    """One signature found for the image, and what became of it."""

    source: str  # "sha256-….sig layer 0", "referrer sha256:…"
    valid: bool
    reason: str = ""
    notes: tuple[str, ...] = ()


@dataclass(slots=True)
class VerifyResult:
    """`status`: verified, failed (signatures exist, none valid), unsigned, error."""

    image: str
    digest: str | None
    status: str
    reason: str = ""
    checks: list[SigCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "verified"

    def as_dict(self) -> dict[str, Any]:
        return {"image": self.image, "digest": self.digest, "status": self.status,
                "reason": self.reason,
                "signatures": [{"source": c.source, "valid": c.valid, "reason": c.reason,
                                "notes": list(c.notes)} for c in self.checks]}


def _b64(text: Any) -> bytes | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _check_simple_claims(payload: bytes, digest: str, reference: str) -> tuple[str, tuple[str, ...]]:
    """('' or the failure reason, notes): cosign's SimpleClaimVerifier, plus notes."""
    try:
        doc = json.loads(payload)
    except ValueError:
        return "payload is not JSON", ()
    critical = doc.get("critical") if isinstance(doc, dict) else None
    if not isinstance(critical, dict):
        return "payload has no critical section", ()
    image = critical.get("image") if isinstance(critical.get("image"), dict) else {}
    found = image.get("docker-manifest-digest") if isinstance(image, dict) else None
    if found != digest:
        return f"invalid or missing digest in claim: {found} (image is {digest})", ()
    notes: list[str] = []
    ident = critical.get("identity") if isinstance(critical.get("identity"), dict) else {}
    ref = ident.get("docker-reference") if isinstance(ident, dict) else None
    if isinstance(ref, str) and ref and ref != reference:
        notes.append(f"signed for docker-reference {ref}, not {reference} (cosign does not "
                     "enforce it)")
    if critical.get("type") not in (SIMPLE_TYPE, SIGN_PREDICATE):
        notes.append(f"unexpected critical.type {critical.get('type')!r}")
    return "", tuple(notes)


def _statement_subject_ok(statement: Mapping[str, Any], digest: str) -> bool:
    """cosign IntotoSubjectClaimVerifier: some subject's sha256 is the image digest."""
    subjects = statement.get("subject")
    for subj in subjects if isinstance(subjects, list) else []:
        d = subj.get("digest") if isinstance(subj, dict) else None
        if isinstance(d, dict) and f"sha256:{d.get('sha256')}" == digest:
            return True
    return False


def _verify_envelope(key: Any, envelope: Mapping[str, Any]) -> tuple[bytes | None, str]:
    """(payload, '') when one of the DSSE envelope's signatures verifies, else (None, why)."""
    payload = _b64(envelope.get("payload"))
    ptype = envelope.get("payloadType")
    if payload is None or not isinstance(ptype, str):
        return None, "DSSE envelope without payload or payloadType"
    sigs = envelope.get("signatures")
    pae = dsse_pae(ptype, payload)
    for s in sigs if isinstance(sigs, list) else []:
        raw = _b64(s.get("sig")) if isinstance(s, dict) else None
        if raw is not None and verify_blob_signature(key, pae, raw):
            return payload, ""
    return None, "DSSE signature does not verify with the given key"


class Verifier:
    """Verification of one image reference against a key or a keyless identity."""

    def __init__(self, client: RegistryClient, *, key: Any = None,
                 keyless: KeylessPolicy | None = None) -> None:
        if key is None and keyless is None:
            raise CosignError("give a public key (--key) or a keyless identity "
                              "(--trusted-root, --certificate-identity, "
                              "--certificate-oidc-issuer)")
        self.client, self.key, self.keyless = client, key, keyless

    def verify(self, repo: str, reference: str, shown: str) -> VerifyResult:
        try:
            digest = reference if reference.startswith("sha256:") else \
                self.client.resolve(repo, reference)
        except OciError as err:
            return VerifyResult(shown, None, "error", str(err))
        try:
            checks = self._legacy(repo, digest, shown) + self._bundles(repo, digest, shown)
        except OciError as err:
            return VerifyResult(shown, digest, "error", str(err))
        if not checks:
            return VerifyResult(shown, digest, "unsigned", "no signatures found")
        valid = [c for c in checks if c.valid]
        if valid:
            return VerifyResult(shown, digest, "verified",
                                f"{len(valid)} of {len(checks)} signatures valid", checks)
        return VerifyResult(shown, digest, "failed",
                            "no matching signatures: " + "; ".join(c.reason for c in checks),
                            checks)

    def _legacy(self, repo: str, digest: str, shown: str) -> list[SigCheck]:
        tag = signature_tag(digest)
        if not self.client.exists(repo, tag):
            return []
        manifest = self.client.manifest(repo, tag)
        out: list[SigCheck] = []
        for i, layer in enumerate(manifest.layers):
            source = f"{tag} layer {i}"
            if layer.get("mediaType") != SIMPLE_SIGNING:
                continue
            ann = layer.get("annotations") if isinstance(layer.get("annotations"), dict) else {}
            assert isinstance(ann, dict)
            sig = _b64(ann.get(SIG_ANNOTATION))
            if sig is None:
                out.append(SigCheck(source, False, "missing or invalid base64 in "
                                    f"{SIG_ANNOTATION}"))
                continue
            try:
                payload = self.client.blob(repo, str(layer.get("digest")), MAX_PAYLOAD)
            except OciError as err:
                out.append(SigCheck(source, False, str(err)))
                continue
            if self.key is not None:
                if not verify_blob_signature(self.key, payload, sig):
                    out.append(SigCheck(source, False, "signature does not verify with the "
                                        "given key (tampered payload or signature, or another "
                                        "key)"))
                    continue
            else:
                from kubeward.supply.keyless import verify_legacy

                assert self.keyless is not None
                why = verify_legacy(self.keyless, payload, sig, ann)
                if why:
                    out.append(SigCheck(source, False, why))
                    continue
            why, notes = _check_simple_claims(payload, digest, _repo_ref(shown))
            out.append(SigCheck(source, not why, why, notes))
        return out

    def _bundles(self, repo: str, digest: str, shown: str) -> list[SigCheck]:
        out: list[SigCheck] = []
        for desc in self.client.referrers(repo, digest):
            art = str(desc.get("artifactType") or "")
            if not art.startswith(BUNDLE_MEDIA_PREFIX):
                continue
            ann = desc.get("annotations") if isinstance(desc.get("annotations"), dict) else {}
            assert isinstance(ann, dict)
            ptype = ann.get("dev.sigstore.bundle.predicateType")
            if ptype not in (None, SIGN_PREDICATE):
                continue  # an attestation, not a signature
            source = f"referrer {desc.get('digest')}"
            try:
                bundle = self._bundle_of(repo, str(desc.get("digest")))
            except OciError as err:
                out.append(SigCheck(source, False, str(err)))
                continue
            statement, why = self._open_bundle(bundle)
            if statement is None:
                out.append(SigCheck(source, False, why))
                continue
            if statement.get("predicateType") != SIGN_PREDICATE:
                continue
            if not _statement_subject_ok(statement, digest):
                out.append(SigCheck(source, False, "no matching subject digest found "
                                    f"(image is {digest})"))
                continue
            out.append(SigCheck(source, True))
        return out

    def _bundle_of(self, repo: str, manifest_digest: str) -> Mapping[str, Any]:
        manifest = self.client.manifest(repo, manifest_digest)
        for layer in manifest.layers:
            if str(layer.get("mediaType", "")).startswith(BUNDLE_MEDIA_PREFIX):
                raw = self.client.blob(repo, str(layer.get("digest")), MAX_PAYLOAD)
                try:
                    doc = json.loads(raw)
                except ValueError:
                    raise OciError(f"{manifest_digest}: bundle is not JSON") from None
                if isinstance(doc, dict):
                    return doc
        raise OciError(f"{manifest_digest}: referrer has no Sigstore bundle layer")

    def _open_bundle(self, bundle: Mapping[str, Any]) -> tuple[Mapping[str, Any] | None, str]:
        """The verified in-toto statement of a DSSE bundle, or (None, why)."""
        if self.key is not None:
            env = bundle.get("dsseEnvelope")
            if not isinstance(env, dict):
                return None, "bundle without a DSSE envelope (messageSignature bundles are " \
                    "not image signatures)"
            payload, why = _verify_envelope(self.key, env)
        else:
            from kubeward.supply.keyless import verify_bundle

            assert self.keyless is not None
            payload, why = verify_bundle(self.keyless, bundle)
        if payload is None:
            return None, why
        try:
            statement = json.loads(payload)
        except ValueError:
            return None, "statement is not JSON"
        if not isinstance(statement, dict):
            return None, "statement is not an object"
        return statement, ""

    def attestations(self, repo: str, digest: str) -> list[Attestation]:
        out: list[Attestation] = []
        tag = signature_tag(digest, ATT_SUFFIX)
        if self.client.exists(repo, tag):
            manifest = self.client.manifest(repo, tag)
            for i, layer in enumerate(manifest.layers):
                if layer.get("mediaType") != DSSE_MEDIA:
                    continue
                source = f"{tag} layer {i}"
                try:
                    raw = self.client.blob(repo, str(layer.get("digest")), MAX_PAYLOAD)
                    env = json.loads(raw)
                except (OciError, ValueError) as err:
                    out.append(Attestation(source, None, None, False, str(err)))
                    continue
                out.append(self._attestation(source, env if isinstance(env, dict) else {},
                                             digest))
        for desc in self.client.referrers(repo, digest):
            ann = desc.get("annotations") if isinstance(desc.get("annotations"), dict) else {}
            assert isinstance(ann, dict)
            if not str(desc.get("artifactType", "")).startswith(BUNDLE_MEDIA_PREFIX) or \
                    ann.get("dev.sigstore.bundle.predicateType") == SIGN_PREDICATE:
                continue
            source = f"referrer {desc.get('digest')}"
            try:
                bundle = self._bundle_of(repo, str(desc.get("digest")))
            except OciError as err:
                out.append(Attestation(source, None, None, False, str(err)))
                continue
            statement, why = self._open_bundle(bundle)
            out.append(_attestation_of(source, statement, why, digest))
        return out

    def _attestation(self, source: str, env: Mapping[str, Any], digest: str) -> Attestation:
        if self.key is None:
            return Attestation(source, None, None, False, "keyless `.att` envelopes carry "
                               "their certificate in annotations; only bundles are verified "
                               "keyless")
        payload, why = _verify_envelope(self.key, env)
        if payload is None:
            return Attestation(source, None, None, False, why)
        try:
            statement = json.loads(payload)
        except ValueError:
            return Attestation(source, None, None, False, "statement is not JSON")
        return _attestation_of(source, statement if isinstance(statement, dict) else None,
                               "statement is not an object", digest)


@dataclass(slots=True, frozen=True)
class Attestation:
    """A verified (or not) in-toto statement attached to the image."""

    source: str
    predicate_type: str | None
    predicate: Any
    verified: bool
    reason: str = ""

    def sbom(self) -> Any:
        """The SBOM (kubeward.supply.sbom.Sbom) when the predicate is CycloneDX or SPDX."""
        from kubeward.supply.sbom import parse_sbom

        if not self.verified or not isinstance(self.predicate, dict):
            return None
        if self.predicate_type not in SBOM_PREDICATES:
            return None
        return parse_sbom(self.predicate, source=self.source)


SBOM_PREDICATES = ("https://cyclonedx.org/bom", "https://spdx.dev/Document",
                   "https://cyclonedx.org/bom/v1.4", "https://cyclonedx.org/bom/v1.5",
                   "https://cyclonedx.org/bom/v1.6", "https://spdx.dev/Document/v2.3")


def _attestation_of(source: str, statement: Mapping[str, Any] | None, why: str,
                    digest: str) -> Attestation:
    if statement is None:
        return Attestation(source, None, None, False, why)
    ptype = statement.get("predicateType")
    ptype = ptype if isinstance(ptype, str) else None
    if not _statement_subject_ok(statement, digest):
        return Attestation(source, ptype, None, False, "no matching subject digest found")
    return Attestation(source, ptype, statement.get("predicate"), True)


def _repo_ref(shown: str) -> str:
    """`registry/repo` of a shown reference (what docker-reference holds)."""
    name = shown.partition("@")[0]
    slash, colon = name.rfind("/"), name.rfind(":")
    return name[:colon] if colon > slash else name


def verify_image(client: RegistryClient, repo: str, reference: str, *, shown: str = "",
                 key: Any = None, keyless: KeylessPolicy | None = None) -> VerifyResult:
    """Verify the image `repo` at `reference` (tag or digest) on `client`'s registry."""
    shown = shown or f"{client.registry}/{repo}{'@' if reference.startswith('sha256:') else ':'}" \
        f"{reference}"
    return Verifier(client, key=key, keyless=keyless).verify(repo, reference, shown)


def fetch_attestations(client: RegistryClient, repo: str, digest: str, *, key: Any = None,
                       keyless: KeylessPolicy | None = None) -> list[Attestation]:
    """Every attestation of the image digest (`.att` tag and bundle referrers), verified."""
    return Verifier(client, key=key, keyless=keyless).attestations(repo, digest)


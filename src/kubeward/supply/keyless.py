"""Keyless (Fulcio certificate + transparency log) verification through `sigstore`, offline.

Given a trusted root file (`trusted_root.json`, the Sigstore TrustedRoot v0.1 message:
Fulcio CAs, Rekor and CT log keys, TSAs), the certificate identity (SAN) and OIDC issuer
— what a Kyverno `keyless` attestor or a ClusterImagePolicy `identities` entry holds —
`sigstore.verify.Verifier(trusted_root=…).verify_dsse(bundle, Identity(...))` checks the
certificate chain at the signing time, the SCT, the identity policy, the Merkle inclusion
proof and signed checkpoint of the log entry and the DSSE signature, with no network use
(sigstore-python 4.5.1, sigstore/verify/verifier.py `_verify_common_signing_cert`).

An identity containing `*` or `?` is matched with Kyverno's wildcard, as a Kyverno keyless
attestor's `subject` is (the seed's verify-image-signature policy uses one); the issuer is
always compared exactly.

What it cannot do offline, exactly:

- cosign's legacy keyless `.sig` layers (certificate in `dev.sigstore.cosign/certificate`,
  Rekor entry in `dev.sigstore.cosign/bundle`) carry a Rekor *inclusion promise* (the
  SignedEntryTimestamp) but no *inclusion proof*. sigstore 4.5.1 refuses every log entry
  without an inclusion proof and checkpoint (sigstore/models.py
  `TransparencyLogEntry._validate`: "entry must contain inclusion proof, with checkpoint"),
  even in a v0.1 bundle, so such signatures are reported as not verifiable offline
  (fetching the proof from Rekor would be a network call, which kubeward does not make).
- Bundles whose certificate key is not ECDSA (sigstore casts the key to ECDSA).

The `sigstore` package is imported only here, lazily (it takes about 0.4 s to import).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["KeylessPolicy", "check_trusted_root", "verify_bundle", "verify_legacy"]


@dataclass(slots=True, frozen=True)
class KeylessPolicy:
    trusted_root: Path
    identity: str
    issuer: str


def _import_error() -> str:
    return "keyless verification needs the `sigstore` package (pip install sigstore)"


def check_trusted_root(path: Path) -> str | None:
    """Why PATH is not a usable Sigstore trusted root (None: it is), checked before any
    registry request so a wrong file is one usage error, not an error per image."""
    try:
        from sigstore.errors import Error as SigstoreError
        from sigstore.models import TrustedRoot
    except ImportError:
        return _import_error()
    try:
        TrustedRoot.from_file(str(path))
    except (OSError, ValueError, SigstoreError) as err:
        lines = str(getattr(err, "strerror", None) or err).splitlines()
        return f"{path}: not a usable trusted root: {lines[0] if lines else type(err).__name__}"
    return None


def verify_bundle(policy: KeylessPolicy, bundle: Mapping[str, Any]) -> tuple[bytes | None, str]:
    """The DSSE payload of a Sigstore bundle verified against the policy, or (None, why)."""
    import json

    try:
        from sigstore.errors import Error as SigstoreError
        from sigstore.models import Bundle, InvalidBundle, TrustedRoot
        from sigstore.verify import Verifier
        from sigstore.verify.policy import Identity
    except ImportError:
        return None, _import_error()
    try:
        root = TrustedRoot.from_file(str(policy.trusted_root))
    except (OSError, ValueError, SigstoreError) as err:
        return None, f"{policy.trusted_root}: not a usable trusted root: {err}"
    try:
        parsed = Bundle.from_json(json.dumps(bundle))
    except (InvalidBundle, ValueError, SigstoreError) as err:
        return None, f"invalid Sigstore bundle: {err}"
    verifier = Verifier(trusted_root=root)
    identity: Any = Identity(identity=policy.identity, issuer=policy.issuer)
    if any(ch in policy.identity for ch in "*?"):
        identity = _WildcardIdentity(policy.identity, policy.issuer)
    try:
        ptype, payload = verifier.verify_dsse(parsed, identity)
    except SigstoreError as err:
        return None, f"keyless verification failed: {err}"
    except (ValueError, TypeError) as err:  # malformed material inside a parsed bundle
        return None, f"keyless verification failed: {type(err).__name__}: {err}"
    if ptype != "application/vnd.in-toto+json":
        return None, f"unexpected DSSE payload type {ptype!r}"
    return payload, ""


class _WildcardIdentity:
    """An identity with `*`/`?`, matched as a Kyverno keyless attestor's `subject` is (Kyverno
    wildcard, kubeward.supply.policies.kyverno_wildcard), so the subject of the seed's
    verify-image-signature policy (`https://github.com/acme/app/*`) can be given as is. The
    issuer is still compared exactly (sigstore's OIDCIssuer)."""

    def __init__(self, pattern: str, issuer: str) -> None:
        self.pattern, self.issuer = pattern, issuer

    def verify(self, cert: Any) -> None:
        from cryptography.x509 import (
            OtherName,
            RFC822Name,
            SubjectAlternativeName,
            UniformResourceIdentifier,
        )
        from sigstore.errors import VerificationError
        from sigstore.verify.policy import OIDCIssuer

        from kubeward.supply.policies import kyverno_wildcard

        OIDCIssuer(self.issuer).verify(cert)
        san = cert.extensions.get_extension_for_class(SubjectAlternativeName).value
        values = [*san.get_values_for_type(RFC822Name),
                  *san.get_values_for_type(UniformResourceIdentifier),
                  *(o.value.decode(errors="replace") for o in san.get_values_for_type(OtherName))]
        if not any(kyverno_wildcard(self.pattern, v) for v in values):
            raise VerificationError(f"Certificate's SANs do not match {self.pattern}; "
                                    f"actual SANs: {sorted(values)}")


def verify_legacy(policy: KeylessPolicy, payload: bytes, signature: bytes,
                  annotations: Mapping[str, Any]) -> str:
    """Always a reason: cosign's legacy keyless format is not verifiable offline with
    sigstore 4.5.1 (see the module docstring)."""
    if "dev.sigstore.cosign/certificate" not in annotations:
        return "signature has no certificate (key-based: give --key)"
    return ("keyless legacy `.sig` signature: its Rekor entry has an inclusion promise but no "
            "inclusion proof, which sigstore 4.5.1 requires (not verifiable offline; re-sign "
            "with cosign --new-bundle-format)")

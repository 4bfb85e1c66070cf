"""The `encryption-config` set: an EncryptionConfiguration with fresh random keys.

Format: kube-apiserver Encryption Configuration (v1),
https://kubernetes.io/docs/reference/config-api/apiserver-encryption.v1/, and
https://kubernetes.io/docs/tasks/administer-cluster/encrypt-data/ ("Providers"):

* the first provider encrypts new writes; every provider is tried on reads, so
  ``identity`` goes LAST (it keeps not-yet-rewritten plaintext data readable; first it
  would mean "store in plain text");
* ``aescbc``: 32-byte key (AES-256-CBC); ``aesgcm``: 16, 24 or 32 bytes (32 here; rotate
  before ~200k writes per key); ``secretbox``: 32-byte key (XSalsa20-Poly1305); keys are
  base64 in ``secret``;
* ``kms`` v2 (``apiVersion: v2``, ``name``, ``endpoint`` of the plugin's gRPC socket,
  ``timeout``; no ``cachesize`` in v2): the key stays in the external KMS.

Keys come from :func:`secrets.token_bytes` (the OS CSPRNG) on every run and are never
printed elsewhere. The document is a secret: the CLI warns and writes `-o FILE` with
mode 0600.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from typing import Any

from kubeward.generate.policies import GenerateError, split_list

__all__ = ["KEY_BYTES", "PROVIDERS", "encryption_config", "encryption_config_set"]

#: Key length per key-based provider (bytes).
KEY_BYTES = {"aescbc": 32, "aesgcm": 32, "secretbox": 32}
PROVIDERS = (*KEY_BYTES, "kms")


def _fresh_key(length: int) -> str:
    return base64.b64encode(secrets.token_bytes(length)).decode("ascii")


def encryption_config(
    providers: list[str],
    resources: list[str],
    *,
    key_name: str = "key1",
    kms_name: str = "kms-plugin",
    kms_endpoint: str = "unix:///var/run/kms-plugin/socket.sock",
    kms_timeout: str = "3s",
) -> dict[str, Any]:
    """PROVIDERS in the given order, then ``identity: {}``."""
    if not providers:
        raise GenerateError("--param providers: give at least one of " + ", ".join(PROVIDERS))
    seen: set[str] = set()
    entries: list[dict[str, Any]] = []
    for name in providers:
        if name == "identity":
            raise GenerateError("--param providers: identity is always added last; leave it out")
        if name not in PROVIDERS:
            raise GenerateError(f"--param providers: unknown provider {name!r} "
                                f"(use {', '.join(PROVIDERS)})")
        if name in seen:
            raise GenerateError(f"--param providers: {name} given twice")
        seen.add(name)
        if name == "kms":
            if not kms_endpoint.startswith("unix://"):
                raise GenerateError("--param kms-endpoint: the plugin listens on a unix socket "
                                    "(unix:///path)")
            entries.append({"kms": {"apiVersion": "v2", "name": kms_name,
                                    "endpoint": kms_endpoint, "timeout": kms_timeout}})
        else:
            entries.append({name: {"keys": [{"name": key_name,
                                             "secret": _fresh_key(KEY_BYTES[name])}]}})
    entries.append({"identity": {}})
    if not resources:
        raise GenerateError("--param resources: give at least one resource (e.g. secrets)")
    return {
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "EncryptionConfiguration",
        "resources": [{"resources": resources, "providers": entries}],
    }


def encryption_config_set(params: Mapping[str, str], namespace: str) -> list[Any]:
    return [encryption_config(
        split_list(params["providers"]), split_list(params["resources"]),
        key_name=params["key-name"], kms_name=params["kms-name"],
        kms_endpoint=params["kms-endpoint"], kms_timeout=params["kms-timeout"],
    )]

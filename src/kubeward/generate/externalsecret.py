"""The `external-secret` set: an External Secrets Operator ExternalSecret.

Format: ``external-secrets.io/v1`` ExternalSecret (https://external-secrets.io/latest/api/externalsecret/;
the v1 API since ESO 0.17, same fields as v1beta1): ``secretStoreRef`` {name, kind},
``refreshInterval``, ``target`` {name, creationPolicy: Owner} and ``dataFrom[].extract``
{key} - every property of the remote secret becomes a key of the Secret, so the value
never appears in Git (checklist item 2).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubeward.generate.policies import GenerateError

__all__ = ["external_secret_set"]


def external_secret_set(params: Mapping[str, str], namespace: str) -> list[Any]:
    if not params["remote-key"].strip():
        raise GenerateError("--param remote-key: give the key of the secret in the provider")
    return [{
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": params["name"], "namespace": namespace,
                     "labels": {"app.kubernetes.io/managed-by": "kubeward"}},
        "spec": {
            "refreshInterval": params["refresh"],
            "secretStoreRef": {"name": params["store"], "kind": params["store-kind"]},
            "target": {"name": params["name"], "creationPolicy": "Owner"},
            "dataFrom": [{"extract": {"key": params["remote-key"]}}],
        },
    }]

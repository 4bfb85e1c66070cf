"""Create or replace one NetworkPolicy on a live cluster (HTTPS POST, PUT when it exists).

Connection and auth as `kubeward audit` (kubeward.inventory.cluster.connect: lightkube's
kubeconfig / in-cluster handling over httpx).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubeward.inventory.cluster import ClusterError, connect

__all__ = ["apply_policy"]


def _check(response: Any, what: str) -> Any:
    import orjson

    try:
        body = orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError:
        body = None
    if response.status_code >= 400:
        msg = body.get("message") if isinstance(body, dict) else response.text[:200]
        raise ClusterError(f"{what}: HTTP {response.status_code}: {msg}")
    return body


def apply_policy(policy: Mapping[str, Any], kubeconfig: str | None, context: str | None,
                 timeout: float = 30.0) -> str:
    """Create the policy, or replace the spec of the existing one; returns what happened:
    "created", "updated" or "unchanged"."""
    import orjson

    ns, name = policy["metadata"]["namespace"], policy["metadata"]["name"]
    base = f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies"
    conn = connect(kubeconfig, context, timeout)
    client = conn._client  # the httpx client bound to the cluster
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    try:
        try:
            resp = client.post(base, content=orjson.dumps(policy), headers=headers,
                               params={"fieldManager": "kubeward"})
            if resp.status_code != 409:
                _check(resp, f"create {ns}/{name}")
                return "created"
            current = _check(client.get(f"{base}/{name}", headers=headers), f"read {ns}/{name}")
            if current.get("spec") == policy["spec"] and all(
                    current["metadata"].get("labels", {}).get(k) == v
                    for k, v in policy["metadata"].get("labels", {}).items()):
                return "unchanged"
            body = {**policy, "metadata": {**policy["metadata"],
                                           "resourceVersion": current["metadata"]["resourceVersion"]}}
            _check(client.put(f"{base}/{name}", content=orjson.dumps(body), headers=headers,
                              params={"fieldManager": "kubeward"}), f"replace {ns}/{name}")
            return "updated"
        except ClusterError:
            raise
        except Exception as err:  # noqa: BLE001 - transport errors of the HTTP stack
            raise ClusterError(f"cannot reach {conn.server}: {type(err).__name__}: {err}") from None
    finally:
        conn.close()

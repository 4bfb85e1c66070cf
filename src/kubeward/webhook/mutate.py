"""The /mutate JSONPatch: the seed's default securityContext, added only where absent.

The fields are those of the seed's `add-default-securitycontext` mutate policy
(`generate/kyverno_sets.py`, Kyverno's `+(field)` add-if-absent anchors): what Pod Security
`restricted` asks of every pod (k8s.io/pod-security-admission/policy: check_runAsNonRoot.go,
check_seccompProfile_restricted.go, check_allowPrivilegeEscalation.go,
check_capabilities_restricted.go):

* pod ``securityContext.runAsNonRoot: true`` and ``securityContext.seccompProfile.type:
  RuntimeDefault``;
* each container (init, regular, ephemeral) ``securityContext.allowPrivilegeEscalation:
  false`` and ``securityContext.capabilities.drop: [ALL]``.

A value the object sets is never changed (``null`` counts as absent, as in the API; an
explicit drop list is left as written). Nothing is added that the API server or the kubelet
would then refuse: no ``allowPrivilegeEscalation: false`` next to ``privileged: true`` or an
added ``SYS_ADMIN`` (validation.go rejects both), no ``runAsNonRoot: true`` when a container
explicitly runs as UID 0 (the kubelet would refuse to start it), no Linux fields on a
``spec.os.name: windows`` pod, and no pod seccompProfile when a legacy seccomp annotation
chooses another profile. Paths are RFC 6901 JSON pointers (``~0``,
``~1`` escaping), operations RFC 6902 ``add`` only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubeward.k8s.pods import CONTAINER_FIELDS, pod_template

__all__ = ["apply_adds", "diff_patch", "pointer", "security_context_patch"]

_LEGACY_SECCOMP = "seccomp.security.alpha.kubernetes.io/pod"


def pointer(path: tuple[str | int, ...]) -> str:
    """An RFC 6901 JSON pointer (`~` -> `~0`, `/` -> `~1`)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _map(value: object) -> Mapping[str, Any] | None:
    return value if isinstance(value, dict) else None


def security_context_patch(kind: str, obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    """JSONPatch operations for a Pod or a workload's pod template (empty: nothing to add)."""
    pod = pod_template(kind, obj)
    if pod is None:
        return []
    spec = pod.spec
    base: tuple[str | int, ...] = pod.spec_path
    ops: list[dict[str, Any]] = []

    def add(path: tuple[str | int, ...], value: Any) -> None:
        ops.append({"op": "add", "path": pointer((*base, *path)), "value": value})

    os_name = (_map(spec.get("os")) or {}).get("name")
    if os_name == "windows":
        return []
    items = [
        (f, i, c)
        for f in CONTAINER_FIELDS
        if isinstance(spec.get(f), list)
        for i, c in enumerate(spec[f])
        if isinstance(c, dict)
    ]
    psc = _map(spec.get("securityContext"))
    runs_as_root = (psc or {}).get("runAsUser") == 0 or any(
        (_map(c.get("securityContext")) or {}).get("runAsUser") == 0 for _, _, c in items
    )
    annotations = _map(pod.metadata.get("annotations")) or {}
    legacy = annotations.get(_LEGACY_SECCOMP)
    want_seccomp = legacy in (None, "runtime/default", "docker/default")
    pod_fields: dict[str, Any] = {}
    if (psc or {}).get("runAsNonRoot") is None and not runs_as_root:
        pod_fields["runAsNonRoot"] = True
    if (psc or {}).get("seccompProfile") is None and want_seccomp:
        pod_fields["seccompProfile"] = {"type": "RuntimeDefault"}
    if psc is None:
        if pod_fields:
            add(("securityContext",), pod_fields)
    else:
        for key, value in pod_fields.items():
            add(("securityContext", key), value)

    for fld, index, container in items:
        csc = _map(container.get("securityContext"))
        caps = _map((csc or {}).get("capabilities"))
        added = (caps or {}).get("add")
        sys_admin = isinstance(added, list) and any(
            isinstance(a, str) and a.upper().removeprefix("CAP_") == "SYS_ADMIN" for a in added
        )
        fields: dict[str, Any] = {}
        if (csc or {}).get("allowPrivilegeEscalation") is None and not (
            (csc or {}).get("privileged") is True or sys_admin
        ):
            fields["allowPrivilegeEscalation"] = False
        if (csc or {}).get("capabilities") is None:
            fields["capabilities"] = {"drop": ["ALL"]}
        elif caps is not None and caps.get("drop") is None:
            add((fld, index, "securityContext", "capabilities", "drop"), ["ALL"])
        if csc is None:
            if fields:
                add((fld, index, "securityContext"), fields)
        else:
            for key, value in fields.items():
                add((fld, index, "securityContext", key), value)
    return ops


def apply_adds(obj: Any, ops: list[dict[str, Any]]) -> Any:
    """A copy of `obj` with the `add` operations of `security_context_patch` applied."""
    import copy

    out = copy.deepcopy(obj)
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        node: Any = out
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[parts[-1]] = op["value"]
    return out


def diff_patch(old: Any, new: Any, path: tuple[str | int, ...] = ()) -> list[dict[str, Any]]:
    """An RFC 6902 patch turning `old` into `new` (objects key by key; lists of equal length
    item by item, other lists replaced whole), for mutations made by Kyverno policies."""
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        ops: list[dict[str, Any]] = []
        for key in old:
            if key not in new:
                ops.append({"op": "remove", "path": pointer((*path, key))})
        for key, value in new.items():
            if key not in old:
                ops.append({"op": "add", "path": pointer((*path, key)), "value": value})
            else:
                ops.extend(diff_patch(old[key], value, (*path, key)))
        return ops
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [
            op for i, (a, b) in enumerate(zip(old, new, strict=True)) for op in diff_patch(a, b, (*path, i))
        ]
    return [{"op": "replace", "path": pointer(path), "value": new}]

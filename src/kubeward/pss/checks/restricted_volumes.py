"""Volume types (restricted).

Follows ``staging/src/k8s.io/pod-security-admission/policy/check_restrictedVolumes.go``:
inline volume sources are limited to ``configMap``, ``csi``, ``downwardAPI``, ``emptyDir``,
``ephemeral``, ``image``, ``persistentVolumeClaim``, ``projected`` and ``secret``.
Registered once at v1.0 and overriding ``hostPathVolumes``; the ``image`` allowance was
patched into that revision upstream (Kubernetes 1.33), so it applies at every policy
version.

API-server defaulting: Pod Security sees the *defaulted* object. ``SetDefaults_Volume``
turns a volume without any volume source into an ``emptyDir`` volume (for pods and pod
templates alike), so such a volume is allowed here too (upstream's ``unknown`` type can only
be reached by calling the Go function on an undefaulted struct, never through admission).
The corpus fixture ``restrictedvolumes0`` ("implicit empty dir") relies on this.
"""

from __future__ import annotations

from typing import Final

from kubeward.pss._model import Check, PodView, Result, VersionedCheck
from kubeward.pss._util import join_quote, pluralize

__all__ = ["ALLOWED_VOLUME_SOURCES", "CHECK", "RESTRICTED_VOLUME_SOURCES", "restricted_volumes_1_0"]

ALLOWED_VOLUME_SOURCES: Final = (
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
)
#: In upstream's switch order: the first one present names the volume's type.
RESTRICTED_VOLUME_SOURCES: Final = (
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
)


def restricted_volumes_1_0(pod: PodView) -> Result:
    volumes = pod.spec.get("volumes")
    if not volumes or not isinstance(volumes, list):
        return None
    bad: list[str] | None = None
    bad_types: set[str] = set()
    for v in volumes:
        # a null volume decodes to a zero-value volume, which defaults to emptyDir
        if not isinstance(v, dict):
            continue
        allowed = False
        for key in ALLOWED_VOLUME_SOURCES:
            if isinstance(v.get(key), dict):
                allowed = True
                break
        if allowed:
            continue
        vtype = None
        for key in RESTRICTED_VOLUME_SOURCES:
            if isinstance(v.get(key), dict):
                vtype = key
                break
        if vtype is None:
            continue  # no volume source: defaulted to emptyDir by the API server
        if bad is None:
            bad = []
        name = v.get("name")
        bad.append(name if isinstance(name, str) else "")
        bad_types.add(vtype)
    if bad is None:
        return None
    return (
        "restricted volume types",
        f"{pluralize('volume', 'volumes', len(bad))} {join_quote(bad)} "
        f"{pluralize('uses', 'use', len(bad))} "
        f"{pluralize('restricted volume type', 'restricted volume types', len(bad_types))} "
        f"{join_quote(sorted(bad_types))}",
    )


CHECK = Check(
    id="restrictedVolumes",
    level="restricted",
    title="Volume Types",
    description=(
        "The restricted policy only permits the configMap, csi, downwardAPI, emptyDir, "
        "ephemeral, image, persistentVolumeClaim, projected and secret volume types."
    ),
    rule_slug="volume-types",
    versions=(
        VersionedCheck(
            (1, 0), "restrictedVolumes_1_0", restricted_volumes_1_0, overrides=("hostPathVolumes",)
        ),
    ),
    upstream_file="policy/check_restrictedVolumes.go",
    fields=tuple(f"spec.volumes[*].{k}" for k in RESTRICTED_VOLUME_SOURCES),
)

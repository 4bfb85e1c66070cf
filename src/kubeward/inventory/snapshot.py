"""Cluster snapshots: everything audit needs, in one gzip-compressed JSON file.

`kubeward snapshot -o FILE` on a machine with cluster access, `kubeward audit --snapshot
FILE` anywhere (air-gapped): the same objects, reduced the same way (Secrets carry names,
types and key names, never values), give the same findings. Reading is bounded: a file
that decompresses past the limit is refused (gzip bombs), and a malformed file is one
clear error.
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from kubeward.inventory.cluster import ClusterRead, KindSpec, KindStatus

__all__ = ["MAX_SNAPSHOT_BYTES", "Snapshot", "SnapshotError", "read_snapshot", "write_snapshot"]

SNAPSHOT_KIND = "ClusterSnapshot"
SNAPSHOT_API = "kubeward.io/v1"
#: Largest decompressed snapshot accepted (10,000-object clusters take about 30 MB).
MAX_SNAPSHOT_BYTES = 2 * 1024 * 1024 * 1024


class SnapshotError(Exception):
    """A snapshot that cannot be read or written (one line, names the file)."""


@dataclass(slots=True)
class Snapshot:
    server: str
    context: str | None
    taken_at: str
    objects: list[dict[str, Any]]
    kinds: list[KindStatus]


def write_snapshot(read: ClusterRead, path: str) -> int:
    """Write atomically; returns the compressed size in bytes."""
    from kubeward import __version__

    doc = {
        "apiVersion": SNAPSHOT_API,
        "kind": SNAPSHOT_KIND,
        "kubewardVersion": __version__,
        "server": read.server,
        "context": read.context,
        "takenAt": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "kinds": [
            {"group": k.kind.group, "version": k.kind.version, "plural": k.kind.plural,
             "kind": k.kind.kind, "namespaced": k.kind.namespaced, "status": k.status,
             "count": k.count, "detail": k.detail}
            for k in read.kinds
        ],
        "items": read.objects,
    }
    data = gzip.compress(orjson.dumps(doc), compresslevel=6, mtime=0)
    target = Path(path)
    try:
        if target.exists() and not target.is_file():  # /dev/stdout, a FIFO: never replace it
            with target.open("wb") as fh:
                fh.write(data)
            return len(data)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except OSError as err:
        raise SnapshotError(f"{path}: cannot write snapshot: {err.strerror or err}") from None
    return len(data)


def read_snapshot(path: str, max_bytes: int = MAX_SNAPSHOT_BYTES) -> Snapshot:
    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        raise SnapshotError(f"{path}: cannot read snapshot: {err.strerror or err}") from None
    try:
        decompressor = zlib.decompressobj(wbits=31)  # gzip
        body = decompressor.decompress(raw, max_bytes + 1)
        if len(body) > max_bytes or decompressor.unconsumed_tail:
            raise SnapshotError(f"{path}: snapshot decompresses past {max_bytes} bytes: refused")
    except zlib.error:
        raise SnapshotError(f"{path}: not a kubeward snapshot (not gzip data)") from None
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise SnapshotError(f"{path}: corrupt snapshot: {err}") from None
    if not isinstance(doc, dict) or doc.get("kind") != SNAPSHOT_KIND:
        raise SnapshotError(f"{path}: not a kubeward snapshot (kind is not {SNAPSHOT_KIND})")
    items = doc.get("items")
    if not isinstance(items, list):
        raise SnapshotError(f"{path}: corrupt snapshot: no items")
    kinds = []
    raw_kinds = doc.get("kinds") or []
    if not isinstance(raw_kinds, list):
        raise SnapshotError(f"{path}: corrupt snapshot: kinds is not a list")
    for k in raw_kinds:
        if not isinstance(k, dict):
            raise SnapshotError(f"{path}: corrupt snapshot: a kinds entry is not an object")
        count = k.get("count") or 0
        if not isinstance(count, int) or isinstance(count, bool):
            raise SnapshotError(f"{path}: corrupt snapshot: kinds count {count!r} is not a number")
        spec = KindSpec(str(k.get("group", "")), str(k.get("version", "")),
                        str(k.get("plural", "")), str(k.get("kind", "")),
                        bool(k.get("namespaced", True)))
        kinds.append(KindStatus(spec, str(k.get("status", "ok")), count, str(k.get("detail", ""))))
    return Snapshot(
        server=str(doc.get("server", "")),
        context=doc.get("context") if isinstance(doc.get("context"), str) else None,
        taken_at=str(doc.get("takenAt", "")),
        objects=[i for i in items if isinstance(i, dict)],
        kinds=kinds,
    )

"""Audit event sources: files and stdin (JSON lines), `--follow` with rotation, EventLists.

Accepted (like `kubeward rbac from-audit`, see kubeward.rbacgen.events): `audit.k8s.io/v1`
and `v1beta1` Events, Events without apiVersion/kind (some providers emit them), and
`EventList` batches (the webhook backend's body, or a line of a file). Pretty-printed JSON
documents one after another are read too. A line that is not an event is counted as
malformed (first few reported with file:line) and never stops the run.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from typing import IO, Any

import orjson

from kubeward.detect.engine import EngineStats

__all__ = ["events_of", "follow_lines", "read_lines", "read_path"]

AUDIT_API_VERSIONS = frozenset({"audit.k8s.io/v1", "audit.k8s.io/v1beta1"})


def _is_event(obj: dict[str, Any]) -> bool:
    kind = obj.get("kind")
    if kind is not None and kind != "Event":
        return False
    api_version = obj.get("apiVersion")
    if api_version is not None and not (isinstance(api_version, str) and api_version in AUDIT_API_VERSIONS):
        return False
    return isinstance(obj.get("requestURI"), str) or isinstance(obj.get("objectRef"), dict)


def events_of(obj: Any, where: str, stats: EngineStats) -> list[dict[str, Any]]:
    """The events of one parsed JSON value: an Event, an EventList, or a list of either."""
    if isinstance(obj, dict):
        kind = obj.get("kind")
        if kind == "EventList" or (kind is None and isinstance(obj.get("items"), list)):
            items = obj.get("items")
            if not isinstance(items, list):
                stats.bad(where, "EventList without items")
                return []
            out = []
            for item in items:
                if isinstance(item, dict) and _is_event(item):
                    out.append(item)
                else:
                    stats.bad(where, "EventList item is not an audit event")
            return out
        if _is_event(obj):
            return [obj]
        stats.bad(
            where, f"not an audit event (kind {obj.get('kind')!r}, apiVersion {obj.get('apiVersion')!r})"
        )
        return []
    if isinstance(obj, list):
        out = []
        for item in obj:
            out.extend(events_of(item, where, stats))
        return out
    stats.bad(where, "not a JSON object")
    return []


def read_lines(
    lines: Iterator[bytes], name: str, stats: EngineStats, first_line: int = 1
) -> Iterator[dict[str, Any]]:
    """Events of JSON lines; pretty-printed documents are detected on the first line."""
    number = first_line - 1
    for line in lines:
        number += 1
        text = line.strip()
        if not text:
            continue
        if text in (b"{", b"["):  # pretty-printed JSON: read the rest as documents
            rest = line + b"".join(lines)
            yield from _documents(rest.decode("utf-8", "replace"), name, number, stats)
            return
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError as err:
            stats.bad(f"{name}:{number}", f"invalid JSON ({err.msg})")
            continue
        if type(obj) is dict and obj.get("kind") != "EventList" and "items" not in obj and _is_event(obj):
            yield obj  # the common case, without the list
            continue
        yield from events_of(obj, f"{name}:{number}", stats)


def _documents(text: str, name: str, first_line: int, stats: EngineStats) -> Iterator[dict[str, Any]]:
    import json

    decoder = json.JSONDecoder()
    pos, size = 0, len(text)
    while True:
        while pos < size and text[pos].isspace():
            pos += 1
        if pos >= size:
            return
        where = f"{name}:{first_line + text.count(chr(10), 0, pos)}"
        try:
            obj, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as err:
            stats.bad(where, f"invalid JSON ({err.msg})")
            newline = text.find("\n", pos)
            if newline < 0:
                return
            pos = newline + 1
            continue
        yield from events_of(obj, where, stats)


def read_path(path: str, stats: EngineStats, stdin: IO[bytes] | None = None) -> Iterator[dict[str, Any]]:
    """Events of one file (`-` = stdin); gzip files by their magic bytes."""
    if path == "-":
        import sys

        stream = stdin if stdin is not None else sys.stdin.buffer
        yield from read_lines(iter(stream), "<stdin>", stats)
        return
    with open(path, "rb") as fh:
        if fh.read(2) == b"\x1f\x8b":
            import gzip

            fh.seek(0)
            with gzip.open(fh) as gz:
                yield from read_lines(iter(gz), path, stats)
            return
        fh.seek(0)
        yield from read_lines(iter(fh), path, stats)


def follow_lines(
    path: str,
    stop: threading.Event,
    *,
    poll: float = 0.25,
    from_start: bool = True,
    on_rotate: Callable[[str], None] | None = None,
) -> Iterator[bytes]:
    """Complete lines appended to `path`, until `stop` is set (like `tail -F`).

    Rotation: when the path names a new file (inode or device changed), the rest of the old
    file is read to its end first, then the new file is opened from its start. Truncation
    (size smaller than our position, copytruncate), or a file rewritten to exactly our
    position (same size, newer modification time than when we reached its end), reads from
    the start. A last line without its newline is kept until the newline arrives, so a line
    written in two parts is read once, whole. A missing file is waited for.
    """
    fh: IO[bytes] | None = None
    ident: tuple[int, int] | None = None
    partial = b""
    first = True
    eof_mtime: int | None = None  # the file's mtime when we last reached its end
    while not stop.is_set():
        if fh is None:
            try:
                fh = open(path, "rb")  # noqa: SIM115 - kept open across iterations
            except OSError:
                stop.wait(poll)
                continue
            st = os.fstat(fh.fileno())
            ident = (st.st_dev, st.st_ino)
            if first and not from_start:
                fh.seek(0, os.SEEK_END)
            first = False
            partial = b""
            eof_mtime = None
        chunk = fh.read(1 << 20)
        if chunk:
            eof_mtime = None
            data = partial + chunk
            cut = data.rfind(b"\n")
            if cut < 0:
                partial = data
                continue
            partial = data[cut + 1 :]
            yield from data[: cut + 1].splitlines()
            continue
        # at the end of the file: rotated, truncated, or just idle?
        if eof_mtime is None:
            eof_mtime = os.fstat(fh.fileno()).st_mtime_ns
        current: os.stat_result | None
        try:
            current = os.stat(path)
        except OSError:
            current = None
        if current is not None and (current.st_dev, current.st_ino) != ident:
            rest = fh.read()
            if rest:
                data = partial + rest
                partial = b""
                yield from data.splitlines()
            fh.close()
            fh = None
            if on_rotate is not None:
                on_rotate("rotated")
            continue
        position = fh.tell()
        if current is not None and (
            current.st_size < position or (current.st_size == position and current.st_mtime_ns != eof_mtime)
        ):
            fh.seek(0)
            eof_mtime = None
            partial = b""
            if on_rotate is not None:
                on_rotate("truncated")
            continue
        stop.wait(poll)
    if fh is not None:
        fh.close()

"""Reading audit logs: JSON lines of audit.k8s.io Events, EventLists, or one JSON document.

Accepted: audit.k8s.io/v1 and v1beta1 `Event`s, `EventList`s (the webhook's batches), events
without apiVersion/kind, one event per line (the log backend's format) or pretty-printed JSON
documents one after the other. A line or document that is not an event is counted as malformed
and reported; it never stops the run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

import orjson

AUDIT_API_VERSIONS = frozenset({"audit.k8s.io/v1", "audit.k8s.io/v1beta1"})
SERVICEACCOUNT_PREFIX = "system:serviceaccount:"


@dataclass
class ReadStats:
    """What reading the logs found (for the stderr summary)."""

    events: int = 0
    malformed: int = 0
    malformed_where: list[str] = field(default_factory=list)  # first few "file:line: why"

    def bad(self, where: str, why: str) -> None:
        self.malformed += 1
        if len(self.malformed_where) < 5:
            self.malformed_where.append(f"{where}: {why}")


def _looks_like_event(obj: dict[str, Any]) -> bool:
    kind = obj.get("kind")
    api_version = obj.get("apiVersion")
    if kind not in (None, "Event"):
        return False
    if api_version is not None and api_version not in AUDIT_API_VERSIONS:
        return False
    return isinstance(obj.get("requestURI"), str) or isinstance(obj.get("objectRef"), dict)


def _events_of(obj: Any, where: str, stats: ReadStats) -> Iterator[dict[str, Any]]:
    if isinstance(obj, list):
        for item in obj:
            yield from _events_of(item, where, stats)
        return
    if not isinstance(obj, dict):
        stats.bad(where, "not a JSON object")
        return
    if obj.get("kind") == "EventList" or (obj.get("kind") is None and isinstance(obj.get("items"), list)):
        items = obj.get("items")
        if not isinstance(items, list):
            stats.bad(where, "EventList without items")
            return
        for item in items:
            if isinstance(item, dict) and _looks_like_event(item):
                stats.events += 1
                yield item
            else:
                stats.bad(where, "EventList item is not an audit event")
        return
    if _looks_like_event(obj):
        stats.events += 1
        yield obj
        return
    stats.bad(where, f"not an audit event (kind {obj.get('kind')!r}, apiVersion {obj.get('apiVersion')!r})")


def read_events(stream: TextIO, name: str, stats: ReadStats) -> Iterator[dict[str, Any]]:
    """Every audit event of one stream, in order."""
    first = ""
    lines: list[str] = []
    for line in stream:
        if line.strip():
            first = line.strip()
            lines.append(line)
            break
        lines.append(line)
    if not first:
        return
    if first in {"{", "["}:  # pretty-printed documents: parse the whole text
        yield from _read_documents("".join(lines) + stream.read(), name, stats)
        return
    yield from _read_lines(_chain(lines, stream), name, stats)


def _chain(head: list[str], rest: Iterable[str]) -> Iterator[str]:
    yield from head
    yield from rest


def _read_lines(lines: Iterable[str], name: str, stats: ReadStats) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text:
            continue
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError as err:
            stats.bad(f"{name}:{number}", f"invalid JSON ({err.msg})")
            continue
        yield from _events_of(obj, f"{name}:{number}", stats)


def _read_documents(text: str, name: str, stats: ReadStats) -> Iterator[dict[str, Any]]:
    decoder = json.JSONDecoder()
    pos, size = 0, len(text)
    while True:
        while pos < size and text[pos].isspace():
            pos += 1
        if pos >= size:
            return
        line = text.count("\n", 0, pos) + 1
        try:
            obj, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as err:
            stats.bad(f"{name}:{line}", f"invalid JSON ({err.msg})")
            newline = text.find("\n", pos)
            if newline < 0:
                return
            pos = newline + 1
            continue
        yield from _events_of(obj, f"{name}:{line}", stats)


# --- which events count ---------------------------------------------------------------------


def effective_user(event: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    """The user the request was authorized as: the impersonated user when there is one."""
    user = event.get("impersonatedUser") or event.get("user") or {}
    if not isinstance(user, dict):
        return "", ()
    groups = user.get("groups") or []
    return str(user.get("username") or ""), tuple(str(g) for g in groups if isinstance(g, str))


def was_allowed(event: dict[str, Any]) -> bool:
    """Whether the server authorized the request.

    The `authorization.k8s.io/decision` annotation (API servers since 1.19) is the server's own
    answer and wins when present: a 404 or 409 answer was still authorized. Without it, an
    event counts when its response code is below 400 or absent (never 401/403).
    """
    annotations = event.get("annotations")
    if isinstance(annotations, dict):
        decision = annotations.get("authorization.k8s.io/decision")
        if decision == "allow":
            return True
        if decision == "forbid":
            return False
    status = event.get("responseStatus")
    code = status.get("code") if isinstance(status, dict) else None
    if not isinstance(code, int) or isinstance(code, bool):
        return True
    return code < 400 and code not in (401, 403)


def is_complete(event: dict[str, Any]) -> bool:
    return event.get("stage") == "ResponseComplete"

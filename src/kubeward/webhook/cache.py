"""A bounded cache of answers, keyed by the whole admission request but its `uid`.

Only for the verdict of kubeward's own rule sets (PSS and the one-object rules): that verdict
is a function of the request alone (the object, old object, namespace, user, operation,
subresource ...), the configuration the server started with (never reloaded: one cache per
app) and, through the scan configuration's exceptions and their `expires` dates, today's
date. The key is therefore the request without its `uid`, serialized as received (orjson keeps
the order of its keys), plus the date; two requests share an answer only when they are equal
byte for byte apart from the uid. The user's Kyverno/VAP policies are not cached (the server
does not build a cache when any are loaded).

It helps when the very same object comes again (a client's retry, `--dry-run=server` then
the real request, a controller re-applying an unchanged object); objects that differ in any
byte (a generated pod name, a resourceVersion) are judged again. Bounded by entries and by
the bytes of the keys; the oldest entries go first.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

import orjson

__all__ = ["AnswerCache"]

V = TypeVar("V")


class AnswerCache(Generic[V]):
    def __init__(self, max_entries: int = 1024, max_bytes: int = 4 * 1024 * 1024, max_key: int = 64 * 1024):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_key = max_key
        self._data: dict[tuple[int, bytes], V] = {}
        self._bytes = 0
        self._lock = threading.Lock()  # large bodies are judged in worker threads

    def key(self, request: Mapping[str, Any]) -> tuple[int, bytes] | None:
        """The key of `request`, or None when it is not cached (too large, not serializable)."""
        try:
            raw = orjson.dumps({k: v for k, v in request.items() if k != "uid"})
        except TypeError:  # orjson.JSONEncodeError: cannot happen for what orjson decoded
            return None
        if len(raw) > self.max_key:
            return None
        return dt.date.today().toordinal(), raw

    def get(self, key: tuple[int, bytes]) -> V | None:
        return self._data.get(key)

    def put(self, key: tuple[int, bytes], value: V) -> None:
        with self._lock:
            if key in self._data:
                return
            self._data[key] = value
            self._bytes += len(key[1])
            while len(self._data) > self.max_entries or self._bytes > self.max_bytes:
                oldest = next(iter(self._data))
                del self._data[oldest]
                self._bytes -= len(oldest[1])

    def __len__(self) -> int:
        return len(self._data)

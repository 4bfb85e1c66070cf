"""A bounded cache of answers, keyed by the admission request without what changes per request.

Only for the verdict of kubeward's own rule sets (PSS and the one-object rules): that verdict
is a function of the request alone (the object, old object, namespace, user, operation,
subresource ...), the configuration the server started with (never reloaded: one cache per
app) and, through the scan configuration's exceptions and their `expires` dates, today's
date. The key is therefore the request without its `uid`, serialized as received (orjson keeps
the order of its keys), plus the date; two requests share an answer only when they are equal
byte for byte apart from the uid and the fields below. The user's Kyverno/VAP policies are
not cached (the server does not build a cache when any are loaded).

Pods made by a controller (ReplicaSet, Job, DaemonSet) arrive as N requests that differ only
in what the API server set on each before calling the validating webhooks (`SERVER_SET`: the
object's uid, creationTimestamp, managedFields; these are left out of every key) and in the
name it generated: `metadata.generateName` plus five characters of apimachinery's `util/rand`
alphabet (`names.SimpleNameGenerator`; `request.name` may carry it too). With
`generated_names`, such a name is left out of the key too, so a rollout of 50 replicas is
judged once (tests/cluster/test_webhook_e2e.py shows it with a real API server). The caller
turns this on only when no verdict can depend on those five characters (no exception
matches by name: see `Evaluator.name_blind`), and the answer keeps a slot for the object's
reference, so every message still names its own pod.

It helps when the very same object comes again (a client's retry, `--dry-run=server` then
the real request, a controller re-applying an unchanged object) and for the replicas of a
controller; objects that differ in any other byte (a resourceVersion, an image) are judged
again. Bounded by entries and by the bytes of the keys; the oldest entries go first.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

import orjson

__all__ = ["GENERATED_ALPHABET", "SERVER_SET", "AnswerCache", "generated_name"]

V = TypeVar("V")


class AnswerCache(Generic[V]):
    def __init__(
        self,
        max_entries: int = 1024,
        max_bytes: int = 4 * 1024 * 1024,
        max_key: int = 64 * 1024,
        *,
        generated_names: bool = False,
    ):
        self.generated_names = generated_names
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_key = max_key
        self._data: dict[tuple[int, bytes], V] = {}
        self._bytes = 0
        self._lock = threading.Lock()  # large bodies are judged in worker threads

    def key(self, request: Mapping[str, Any]) -> tuple[int, bytes] | None:
        """The key of `request`, or None when it is not cached (too large, not serializable)."""
        rest = {k: v for k, v in request.items() if k != "uid"}
        _without_volatile(rest, self.generated_names)
        try:
            raw = orjson.dumps(rest)
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


#: apimachinery util/rand `alphanums` (no vowels, no 0, 1, 3): what `names.SimpleNameGenerator`
#: appends to `generateName`, 5 characters, after cutting the base to 58.
GENERATED_ALPHABET = frozenset("bcdfghjklmnpqrstvwxz2456789")
_MAX_BASE = 63 - 5


def generated_name(meta: Mapping[str, Any]) -> str | None:
    """`metadata.name` when the API server generated it from `metadata.generateName`, else None."""
    base, name = meta.get("generateName"), meta.get("name")
    if not (isinstance(base, str) and base and isinstance(name, str) and len(name) > 5):
        return None
    if name[:-5] != base[:_MAX_BASE] or not GENERATED_ALPHABET.issuperset(name[-5:]):
        return None
    return name


#: Object metadata the API server fills in for each create before validating webhooks are
#: called (`rest.BeforeCreate`: uid, creationTimestamp; the field manager: managedFields, with
#: times) and that no verdict reads (tests/webhook/test_fast_path.py checks every rule on
#: every fixture): left out of the key, or no real request would ever match an earlier one.
SERVER_SET = ("uid", "creationTimestamp", "managedFields")


def _without_volatile(rest: dict[str, Any], generated_names: bool) -> None:
    """Blank what differs between a controller's replicas (copies: the request is unchanged)."""
    obj = rest.get("object")
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    if not isinstance(meta, dict):
        return
    assert isinstance(obj, dict)
    name = generated_name(meta) if generated_names else None
    if name is None and not any(k in meta for k in SERVER_SET):
        return
    meta = {k: v for k, v in meta.items() if k not in SERVER_SET}
    if name is not None:
        meta["name"] = ""
        if rest.get("name") == name:
            rest["name"] = ""
    rest["object"] = {**obj, "metadata": meta}

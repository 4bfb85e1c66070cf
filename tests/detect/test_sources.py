"""Reading audit events: JSON lines, EventLists, malformed input, gzip, and --follow on a
real file that the test appends to, rotates (rename + new file) and truncates."""

from __future__ import annotations

import gzip
import io
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from kubeward.detect.engine import EngineStats
from kubeward.detect.sources import follow_lines, read_lines, read_path
from tests.detect.conftest import fixture_event

EVENT = fixture_event("secret-read", "fire-get.json")


def _line(event: dict[str, Any], **changes: Any) -> bytes:
    return json.dumps({**event, **changes}).encode() + b"\n"


def test_versions_eventlists_and_malformed_lines() -> None:
    no_version = {k: v for k, v in EVENT.items() if k not in ("apiVersion", "kind")}
    batch = {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": [EVENT, {"kind": "Pod"}]}
    data = (
        _line(EVENT)
        + _line(EVENT, apiVersion="audit.k8s.io/v1beta1")
        + json.dumps(no_version).encode()
        + b"\n\nnot json\n"
        + json.dumps(batch).encode()
        + b"\n"
        + _line(EVENT, apiVersion="v1", kind="Pod")
        + b"[1]\n"
    )
    stats = EngineStats()
    events = list(read_lines(iter(io.BytesIO(data)), "audit.log", stats))
    assert len(events) == 4
    assert stats.malformed == 4
    assert stats.malformed_where[0].startswith("audit.log:5: invalid JSON")
    assert stats.malformed_where[1] == "audit.log:6: EventList item is not an audit event"


def test_pretty_printed_documents(tmp_path: Path) -> None:
    path = tmp_path / "pretty.json"
    path.write_text(json.dumps(EVENT, indent=2) + "\n" + json.dumps(EVENT, indent=2) + "\n")
    stats = EngineStats()
    assert len(list(read_path(str(path), stats))) == 2 and stats.malformed == 0


def test_gzip(tmp_path: Path) -> None:
    path = tmp_path / "audit.log.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(_line(EVENT) * 3)
    assert len(list(read_path(str(path), EngineStats()))) == 3


class _Follower:
    def __init__(self, path: Path) -> None:
        self.lines: list[bytes] = []
        self.events: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(str(path),), daemon=True)
        self.thread.start()

    def _run(self, path: str) -> None:
        for line in follow_lines(path, self.stop, poll=0.02, on_rotate=self.events.append):
            self.lines.append(line)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[bytes]:
        deadline = time.monotonic() + timeout
        while len(self.lines) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.lines)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


def test_follow_survives_rotation_truncation_and_partial_lines(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    follower = _Follower(path)  # the file does not exist yet: it is waited for
    try:
        with path.open("ab") as fh:
            fh.write(b'{"n": 1}\n{"n": 2')  # the second line is not complete yet
            fh.flush()
            assert follower.wait_for(1) == [b'{"n": 1}']
            time.sleep(0.1)
            assert follower.lines == [b'{"n": 1}']  # the partial line is held back
            fh.write(b"}\n")
            fh.flush()
            assert follower.wait_for(2)[1] == b'{"n": 2}'
            fh.write(b'{"n": 3}\n')
        # rotation: rename away (the last line written just before it is still read), new file
        os.rename(path, tmp_path / "audit.log.1")
        with path.open("ab") as fh:
            fh.write(b'{"n": 4}\n')
        assert follower.wait_for(4)[2:] == [b'{"n": 3}', b'{"n": 4}']
        assert follower.events == ["rotated"]
        # truncation (copytruncate): start again at the beginning
        with path.open("wb") as fh:
            fh.write(b'{"n": 5}\n')
        assert follower.wait_for(5)[4] == b'{"n": 5}'
        assert "truncated" in follower.events
    finally:
        follower.close()
    assert [json.loads(x)["n"] for x in follower.lines] == [1, 2, 3, 4, 5]

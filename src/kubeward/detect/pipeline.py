"""Glue between sources, the engine and the sinks (thread-safe: several sources may feed)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

from kubeward.detect.engine import Detector
from kubeward.detect.sinks import Sink

__all__ = ["Pipeline"]


class Pipeline:
    def __init__(self, detector: Detector, sinks: Sequence[Sink]) -> None:
        self.detector = detector
        self.sinks = list(sinks)
        self.lock = threading.Lock()
        self.alerts = 0

    def _emit(self, alerts: list[dict[str, Any]]) -> None:
        for alert in alerts:
            self.alerts += 1
            for sink in self.sinks:
                sink.emit(alert)

    def feed(self, events: Iterable[dict[str, Any]]) -> None:
        """Process events as they come. The lock is held per event, never while the source
        waits (a followed file blocks between lines), so several sources interleave."""
        process = self.detector.process
        lock = self.lock
        for event in events:
            with lock:
                alerts = process(event)
                if alerts:
                    self._emit(alerts)

    def finish(self) -> None:
        """Emit the summaries of open dedup windows, then close the sinks."""
        with self.lock:
            self._emit(self.detector.flush())
            for sink in self.sinks:
                sink.close()

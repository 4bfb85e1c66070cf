"""HTTPS endpoint for the API server's audit webhook backend (`--audit-webhook-config-file`).

The webhook backend POSTs `audit.k8s.io/v1` `EventList` batches
(k8s.io/apiserver/plugin/pkg/audit/webhook: `backend.processEvents` sends one EventList per
batch and retries on errors). We answer 200 as soon as the body is read and parsed, and hand
the events to one worker thread through a bounded queue, so a slow sink never delays the API
server; when the queue is full we answer 503, which the backend retries with backoff.
Bodies larger than `max_body` are refused with 413 without being read whole.

Routes: `POST /` and `POST /audit` (any path works the same), `GET /metrics`, `GET /healthz`.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

import orjson

from kubeward.detect.pipeline import Pipeline
from kubeward.detect.sources import events_of

__all__ = ["DEFAULT_MAX_BODY", "AuditReceiver", "build_app"]

DEFAULT_MAX_BODY = 32 * 1024 * 1024  # the webhook batches up to 400 events (--audit-webhook-batch-max-size)


class AuditReceiver:
    """Bounded queue of parsed batches + the worker thread that feeds the pipeline."""

    def __init__(self, pipeline: Pipeline, *, max_batches: int = 1000) -> None:
        self.pipeline = pipeline
        self.batches = 0
        self._queue: queue.Queue[list[dict[str, Any]] | None] = queue.Queue(maxsize=max_batches)
        self._thread = threading.Thread(target=self._run, name="kubeward-audit-worker", daemon=True)
        self._thread.start()

    def offer(self, events: list[dict[str, Any]]) -> bool:
        try:
            self._queue.put_nowait(events)
        except queue.Full:
            return False
        self.batches += 1
        return True

    def _run(self) -> None:
        while True:
            events = self._queue.get()
            if events is None:
                return
            self.pipeline.feed(events)
            self._queue.task_done()

    def drain(self, timeout: float = 10.0) -> None:
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout=timeout)


def build_app(receiver: AuditReceiver, *, max_body: int = DEFAULT_MAX_BODY, registry: Any = None) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route

    stats = receiver.pipeline.detector.stats

    async def ingest(request: Request) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body:
            return PlainTextResponse("body too large\n", status_code=413)
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_body:
                return PlainTextResponse("body too large\n", status_code=413)
            chunks.append(chunk)
        where = f"webhook batch {receiver.batches + 1}"
        try:
            obj = orjson.loads(b"".join(chunks))
        except orjson.JSONDecodeError as err:
            with receiver.pipeline.lock:
                stats.bad(where, f"invalid JSON ({err.msg})")
            return PlainTextResponse(f"invalid JSON: {err.msg}\n", status_code=400)
        with receiver.pipeline.lock:
            events = events_of(obj, where, stats)
        if events and not receiver.offer(events):
            return PlainTextResponse("busy\n", status_code=503)
        return JSONResponse({"accepted": len(events)})

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok\n")

    async def metrics(request: Request) -> Response:
        from kubeward.detect.metrics import render

        if registry is None:
            return PlainTextResponse("metrics disabled\n", status_code=404)
        with receiver.pipeline.lock:
            body = render(registry)
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/", ingest, methods=["POST"]),
        Route("/{path:path}", ingest, methods=["POST"]),
    ]
    return Starlette(routes=routes)

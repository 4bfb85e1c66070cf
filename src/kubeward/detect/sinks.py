"""Where alerts go: human lines, JSON lines, a file, an HTTP webhook, syslog.

Every sink takes plain alert dicts (see `engine.Detector._alert`). Alerts never contain
secret values: the engine only copies names, users, verbs and URIs from the event, and the
built-in audit policy logs secrets at Metadata level.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Any, Protocol

import orjson

__all__ = ["FileSink", "HumanSink", "JsonSink", "Sink", "SyslogSink", "WebhookSink", "human_line"]

_SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


class Sink(Protocol):
    def emit(self, alert: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


def human_line(alert: dict[str, Any]) -> str:
    """`TIME SEVERITY rule: message [mitre]` (one line)."""
    count = f" x{alert['count']}" if alert.get("count", 1) != 1 else ""
    mitre = f" [{alert['mitre']}]" if alert.get("mitre") else ""
    return f"{alert['time']} {alert['severity'].upper():8} {alert['rule']}: {alert['message']}{count}{mitre}"


class HumanSink:
    """One line per alert; colour only when the stream is a terminal (no rich in the hot path)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout
        self.color = bool(getattr(self.stream, "isatty", lambda: False)())

    def emit(self, alert: dict[str, Any]) -> None:
        line = human_line(alert)
        if self.color:
            codes = {"critical": "1;31", "high": "31", "medium": "33", "low": "36", "info": "2"}
            line = f"\x1b[{codes.get(alert['severity'], '0')}m{line}\x1b[0m"
        self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


class JsonSink:
    """JSON lines (one alert per line) on a text stream."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout

    def emit(self, alert: dict[str, Any]) -> None:
        self.stream.write(orjson.dumps(alert).decode() + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


class FileSink:
    """JSON lines appended to a file (opened once, flushed per alert)."""

    def __init__(self, path: str) -> None:
        self._fh = open(path, "ab")  # noqa: SIM115 - lives as long as the sink

    def emit(self, alert: dict[str, Any]) -> None:
        self._fh.write(orjson.dumps(alert) + b"\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


Poster = Callable[[str, bytes, float], int]


def _post(url: str, body: bytes, timeout: float) -> int:
    import urllib.request

    req = urllib.request.Request(  # noqa: S310 - the user's --webhook-url (http or https)
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "kubeward-detect"},
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - user-given URL
        return int(resp.status)


class WebhookSink:
    """HTTP POST of each alert: Slack-compatible `{"text": ...}` plus every alert field, so
    one URL serves Slack/Mattermost incoming webhooks and SIEM HTTP collectors.

    A background thread sends from a bounded queue (`max_queue`); when the queue is full the
    oldest pending alert is dropped and counted, so a dead endpoint never blocks detection.
    Each alert is retried with exponential backoff (`retries` times) on errors and 5xx/429.
    """

    def __init__(
        self,
        url: str,
        *,
        max_queue: int = 1000,
        retries: int = 3,
        timeout: float = 5.0,
        backoff: float = 0.5,
        poster: Poster | None = None,
    ) -> None:
        self.url = url
        self.retries = retries
        self.timeout = timeout
        self.backoff = backoff
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self._post = poster or _post
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=max_queue)
        self._thread = threading.Thread(target=self._run, name="kubeward-webhook-sink", daemon=True)
        self._thread.start()

    def emit(self, alert: dict[str, Any]) -> None:
        while True:
            try:
                self._queue.put_nowait(alert)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass

    def _run(self) -> None:
        while True:
            alert = self._queue.get()
            if alert is None:
                return
            body = orjson.dumps({"text": human_line(alert), **alert})
            for attempt in range(self.retries + 1):
                try:
                    status = self._post(self.url, body, self.timeout)
                except OSError:
                    status = 0
                if 200 <= status < 300:
                    self.sent += 1
                    break
                if 400 <= status < 500 and status != 429:
                    self.failed += 1  # the endpoint refuses this body: retrying cannot help
                    break
                if attempt == self.retries:
                    self.failed += 1
                else:
                    time.sleep(self.backoff * (2**attempt))

    def close(self, timeout: float = 10.0) -> None:
        """Send what is queued (up to `timeout` seconds), then stop the thread."""
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout=timeout)


class _Rfc5424Formatter(logging.Formatter):
    """`1 TIMESTAMP HOSTNAME kubeward PROCID alert - MSG` (RFC 5424 §6; the handler adds `<PRI>`)."""

    def __init__(self) -> None:
        super().__init__()
        import os
        import socket

        self.host = socket.gethostname() or "-"
        self.pid = str(os.getpid())

    def format(self, record: logging.LogRecord) -> str:
        from datetime import UTC, datetime

        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return f"1 {stamp} {self.host} kubeward {self.pid} alert - {record.getMessage()}"


class _Rfc3164Formatter(logging.Formatter):
    """`Mmm dd hh:mm:ss HOSTNAME kubeward[PID]: MSG` (RFC 3164 §4.1.2; the handler adds `<PRI>`)."""

    def __init__(self) -> None:
        super().__init__()
        import os
        import socket

        self.host = socket.gethostname() or "localhost"
        self.pid = os.getpid()

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%b %d %H:%M:%S", time.localtime(record.created))
        return f"{stamp} {self.host} kubeward[{self.pid}]: {record.getMessage()}"


_SYSLOG_LEVEL = {
    "critical": logging.CRITICAL,
    "high": logging.ERROR,
    "medium": logging.WARNING,
    "low": logging.INFO,
    "info": logging.INFO,
}


class SyslogSink:
    """Alerts to syslog via the standard library's SysLogHandler.

    `address`: `host:port` (UDP, or TCP with `tcp=True`) or a Unix socket path such as
    `/dev/log`. `fmt`: `rfc5424` (default) or `rfc3164`. The message is the alert as JSON
    (SIEMs parse it), severity mapped to syslog levels (critical→crit, high→err,
    medium→warning, low/info→info), facility `local0` by default.
    """

    def __init__(
        self, address: str, *, fmt: str = "rfc5424", tcp: bool = False, facility: str = "local0"
    ) -> None:
        import socket
        from logging.handlers import SysLogHandler

        class _Handler(SysLogHandler):
            failed = 0

            def handleError(self, record: logging.LogRecord) -> None:
                # an unreachable socket: counted and reported once at the end, never a traceback
                # per alert on stderr (which would also print the alert a second time)
                self.failed += 1

        target: str | tuple[str, int]
        if address.startswith("/"):
            target = address
        else:
            host, _, port = address.rpartition(":")
            if port and not (port.isdigit() and 0 < int(port) < 65536):
                raise ValueError(f"--syslog {address!r}: use HOST:PORT (port 1-65535) or a socket path")
            target = (host.strip("[]") or "127.0.0.1", int(port or 514))
        self.handler = _Handler(
            address=target,
            facility=SysLogHandler.facility_names[facility],
            socktype=socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM,
        )
        if tcp:
            self.handler.append_nul = False
        self.handler.setFormatter(_Rfc3164Formatter() if fmt == "rfc3164" else _Rfc5424Formatter())
        self.logger = logging.Logger("kubeward.detect.syslog")
        self.logger.propagate = False
        self.logger.addHandler(self.handler)

    def emit(self, alert: dict[str, Any]) -> None:
        self.logger.log(
            _SYSLOG_LEVEL.get(alert["severity"], logging.WARNING), "%s", orjson.dumps(alert).decode()
        )

    @property
    def failed(self) -> int:
        return int(getattr(self.handler, "failed", 0))

    def close(self) -> None:
        self.handler.close()

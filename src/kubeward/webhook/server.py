"""Run the webhook: uvicorn (one worker) over TLS, certificate reload, graceful shutdown.

Certificate rotation without restart: every `reload_interval` seconds the mtimes (and sizes)
of the certificate and key files are compared; when they change, `load_cert_chain` is called
again on the *live* `ssl.SSLContext` uvicorn serves with. OpenSSL copies the context's
certificate into each new connection (SSL_new), so new handshakes present the new
certificate while open connections keep theirs (tests/webhook/test_tls_reload.py). A pair
that does not load (a half-written rotation, a key that does not match) is logged and
retried at the next tick; the old certificate stays in use.

Shutdown: on SIGTERM/SIGINT uvicorn stops accepting, lets in-flight requests finish (up to
`requestTimeoutSeconds` + 5 s), then exits; /readyz answers 503 meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
from dataclasses import dataclass
from typing import Any

__all__ = ["CertReloader", "ServeOptions", "serve"]

log = logging.getLogger("kubeward.webhook")


@dataclass(slots=True)
class ServeOptions:
    cert: str
    key: str
    host: str = "0.0.0.0"  # noqa: S104 - a webhook serves the API server from another host
    port: int = 8443
    reload_interval: float = 10.0
    log_level: str = "info"


class CertReloader:
    """Reload a certificate pair into a live SSLContext when its files change."""

    def __init__(self, context: ssl.SSLContext, cert: str, key: str) -> None:
        self.context = context
        self.cert = cert
        self.key = key
        self._stamp = self._read_stamp()

    def _read_stamp(self) -> tuple[tuple[int, int], ...] | None:
        try:
            return tuple((s.st_mtime_ns, s.st_size) for s in (os.stat(self.cert), os.stat(self.key)))
        except OSError:
            return None

    def check(self) -> bool | None:
        """Reload if the files changed: True reloaded, False failed (kept the old), None unchanged."""
        stamp = self._read_stamp()
        if stamp is None or stamp == self._stamp:
            return None
        try:
            self.context.load_cert_chain(self.cert, self.key)
        except (OSError, ssl.SSLError) as err:
            log.warning("certificate files changed but do not load (keeping the old certificate): %s", err)
            return False
        self._stamp = stamp
        log.info("serving certificate reloaded from %s", self.cert)
        return True

    async def run(self, interval: float, on_result: Any = None) -> None:
        while True:
            await asyncio.sleep(interval)
            result = self.check()
            if result is not None and on_result is not None:
                on_result(result)


def serve(options: ServeOptions, state: Any) -> None:
    """Serve `state` (an `app.AppState`) until SIGTERM/SIGINT."""
    import uvicorn

    from kubeward.webhook.app import build_app

    app = build_app(state)
    timeout = state.evaluator.config.request_timeout
    config = uvicorn.Config(
        app,
        host=options.host,
        port=options.port,
        ssl_certfile=options.cert,
        ssl_keyfile=options.key,
        log_level=options.log_level,
        access_log=False,
        lifespan="on",
        server_header=False,
        timeout_graceful_shutdown=int(timeout) + 5,
        timeout_keep_alive=30,  # the API server reuses connections
        log_config=None,
    )

    class _Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            super().handle_exit(sig, frame)
            # uvicorn re-raises a caught SIGTERM after the graceful shutdown (the process then
            # dies "by signal"); a drained shutdown is a clean exit, so exit 0 instead.
            self._captured_signals.clear()

    server = _Server(config)
    state.shutting_down = lambda: server.should_exit

    async def reload_certs() -> None:
        ctx = config.ssl
        if ctx is None:  # pragma: no cover - serve always passes a certificate
            return
        reloader = CertReloader(ctx, options.cert, options.key)

        def record(ok: bool) -> None:
            state.metrics.cert_reloads.labels("ok" if ok else "error").inc()

        await reloader.run(options.reload_interval, record)

    state.background.append(reload_certs)
    server.run()

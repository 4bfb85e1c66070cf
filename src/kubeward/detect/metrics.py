"""Prometheus metrics of `kubeward detect`, read from the engine's own counters.

The engine counts with plain ints (no locking or label lookups per event); a custom collector
turns them into metrics at scrape time:

* `kubeward_detect_events_total{result="alert"|"no_alert"}`
* `kubeward_detect_malformed_total`
* `kubeward_detect_alerts_total{rule, severity}`
* `kubeward_detect_suppressed_total{rule}` (duplicates folded by deduplication)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kubeward.detect.engine import EngineStats

__all__ = ["registry_for", "render", "serve"]


def registry_for(stats: EngineStats) -> Any:
    from prometheus_client import CollectorRegistry
    from prometheus_client.core import CounterMetricFamily
    from prometheus_client.registry import Collector

    class _Collector(Collector):
        def collect(self) -> Iterator[Any]:
            events = CounterMetricFamily(
                "kubeward_detect_events", "Audit events processed", labels=["result"]
            )
            events.add_metric(["alert"], stats.alerted_events)
            events.add_metric(["no_alert"], stats.events - stats.alerted_events)
            yield events
            yield CounterMetricFamily(
                "kubeward_detect_malformed", "Lines or items that are not audit events", value=stats.malformed
            )
            alerts = CounterMetricFamily(
                "kubeward_detect_alerts", "Alerts raised", labels=["rule", "severity"]
            )
            for (rule, severity), n in sorted(stats.alerts.items()):
                alerts.add_metric([rule, severity], n)
            yield alerts
            suppressed = CounterMetricFamily(
                "kubeward_detect_suppressed", "Duplicate alerts folded by deduplication", labels=["rule"]
            )
            for rule, n in sorted(stats.suppressed.items()):
                suppressed.add_metric([rule], n)
            yield suppressed

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector())
    return registry


def render(registry: Any) -> bytes:
    from prometheus_client import generate_latest

    data: bytes = generate_latest(registry)
    return data


def serve(registry: Any, port: int, addr: str = "127.0.0.1") -> Any:
    """Serve /metrics on `addr:port` in a daemon thread (prometheus_client's own server)."""
    from prometheus_client import start_http_server

    return start_http_server(port, addr=addr, registry=registry)

"""Prometheus metrics of `kubeward serve` (its own registry: no process-global state in tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Metrics"]

# Admission answers take a millisecond or two; the API server gives up at timeoutSeconds.
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(slots=True)
class Metrics:
    registry: Any
    decisions: Any  # kubeward_webhook_decisions_total{endpoint, result}
    violations: Any  # kubeward_webhook_violations_total{rule_set, rule, action}
    latency: Any  # kubeward_webhook_request_duration_seconds{endpoint}
    errors: Any  # kubeward_webhook_errors_total{reason}
    cert_reloads: Any  # kubeward_webhook_certificate_reloads_total{result}
    answer_cache: Any  # kubeward_webhook_answer_cache_total{result}

    @classmethod
    def create(cls) -> Metrics:
        from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

        disable_created_metrics()  # type: ignore[no-untyped-call] # the _created series double the output for no use here

        reg = CollectorRegistry(auto_describe=True)
        return cls(
            registry=reg,
            decisions=Counter(
                "kubeward_webhook_decisions",
                "Admission answers by endpoint and result "
                "(allowed, denied, exempt, mutated, unchanged, error_allowed, error_denied).",
                ["endpoint", "result"],
                registry=reg,
            ),
            violations=Counter(
                "kubeward_webhook_violations",
                "Violated rules by rule set, rule and action taken (deny, warn, audit).",
                ["rule_set", "rule", "action"],
                registry=reg,
            ),
            latency=Histogram(
                "kubeward_webhook_request_duration_seconds",
                "Time to answer an AdmissionReview, from the request's arrival.",
                ["endpoint"],
                buckets=_BUCKETS,
                registry=reg,
            ),
            errors=Counter(
                "kubeward_webhook_errors",
                "Requests that could not be judged, by reason (too_large, bad_request, timeout, evaluation).",
                ["reason"],
                registry=reg,
            ),
            cert_reloads=Counter(
                "kubeward_webhook_certificate_reloads",
                "Serving certificate reloads after the files changed, by result.",
                ["result"],
                registry=reg,
            ),
            answer_cache=Counter(
                "kubeward_webhook_answer_cache",
                "Validate requests answered from the answer cache (hit: the same request but its "
                "uid, or a replica with a generated name) or judged (miss).",
                ["result"],
                registry=reg,
            ),
        )

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST

"""The engine: firing stages, deduplication windows, burst state, and a real v1.20 log."""

from __future__ import annotations

import gzip
import json

import pytest

from kubeward.detect import engine
from kubeward.detect.engine import Detector, event_time, images_of
from kubeward.detect.rules import load_rules
from tests.detect.conftest import FIXTURES, fixture_event, with_time

RULES = load_rules()


def _rules_fired(detector: Detector, events: list[dict[str, object]]) -> list[str]:
    return [a["rule"] for e in events for a in detector.process(e)]


def test_only_the_complete_stage_fires() -> None:
    secret = fixture_event("secret-read", "fire-get.json")
    stages = [{**secret, "stage": s} for s in ("RequestReceived", "ResponseStarted", "ResponseComplete")]
    assert _rules_fired(Detector(RULES), stages) == ["secret-read"]
    assert _rules_fired(Detector(RULES), [{**secret, "stage": "Panic"}]) == ["secret-read"]
    no_stage = {k: v for k, v in secret.items() if k != "stage"}
    assert _rules_fired(Detector(RULES), [no_stage]) == ["secret-read"]


def test_dedup_folds_repeats_within_the_window_and_reports_the_count() -> None:
    secret = fixture_event("secret-read", "fire-get.json")
    events = [with_time(secret, f"2021-02-01T10:00:{s:02d}.000000Z") for s in (0, 10, 20)]
    detector = Detector(RULES, dedup_window=60)
    assert _rules_fired(detector, events) == ["secret-read"]
    summary = detector.flush()
    assert len(summary) == 1 and summary[0]["count"] == 2 and summary[0]["repeat"] is True
    assert detector.stats.suppressed == {"secret-read": 2}


def test_dedup_window_ends() -> None:
    secret = fixture_event("secret-read", "fire-get.json")
    events = [
        with_time(secret, "2021-02-01T10:00:00.000000Z"),
        with_time(secret, "2021-02-01T10:02:00.000000Z"),
    ]
    assert _rules_fired(Detector(RULES, dedup_window=60), events) == ["secret-read", "secret-read"]
    other_user = with_time(
        {**secret, "user": {"username": "eve", "groups": []}}, "2021-02-01T10:00:01.000000Z"
    )
    assert _rules_fired(Detector(RULES), [events[0], other_user]) == ["secret-read", "secret-read"]


def test_burst_state_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "MAX_KEYS", 50)
    base = json.loads((FIXTURES / "auth-failure-burst" / "fire-twelve-401.json").read_text())[0]
    detector = Detector(RULES)
    for i in range(1000):
        detector.process({**base, "sourceIPs": [f"198.51.100.{i % 250}-{i}"]})
    assert len(detector._bursts["auth-failure-burst"]) <= 50


def test_dedup_state_is_swept_by_event_time() -> None:
    secret = fixture_event("secret-read", "fire-get.json")
    detector = Detector(RULES, dedup_window=1)
    for i in range(engine._SWEEP_EVERY * 2):
        event = with_time(
            {**secret, "objectRef": {**secret["objectRef"], "name": f"s{i}"}},
            f"2021-02-01T{10 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}.000000Z",
        )
        detector.process(event)
    assert len(detector._dedup) < engine._SWEEP_EVERY + 10


def test_event_time_fallbacks() -> None:
    assert event_time({"stageTimestamp": "2021-02-01T10:00:00Z"}) == 1612173600.0
    assert event_time({"timestamp": "2021-02-01T10:00:00Z"}) == 1612173600.0  # v1beta1
    assert event_time({"stageTimestamp": "garbage"}) > 1612173600.0


def test_images_are_normalised() -> None:
    spec = {"initContainers": [{"image": "busybox"}], "containers": [{"image": "ghcr.io/a/b@sha256:ab"}]}
    assert images_of(spec) == ["docker.io/library/busybox", "ghcr.io/a/b@sha256:ab"]


def test_real_v120_log_only_alerts_on_the_exec() -> None:
    """tests/fixtures/detect/_real: the v1.20 API server's own log of a session (namespace,
    `kubectl run`, `kubectl exec`, a bad token, anonymous requests) under the suite's policy."""
    with gzip.open(FIXTURES / "_real" / "v1.20-actions.log.gz") as fh:
        events = [json.loads(line) for line in fh]
    detector = Detector(RULES)
    fired = _rules_fired(detector, events)
    assert fired == ["pod-exec"]
    assert not detector.stats.cel_errors


def test_dedup_window_zero_turns_dedup_off() -> None:
    secret = fixture_event("secret-read", "fire-get.json")
    assert _rules_fired(Detector(RULES, dedup_window=0), [secret, secret]) == ["secret-read", "secret-read"]


def test_secret_query_parameters_never_reach_an_alert() -> None:
    """Alerts go to chat and SIEMs: a token passed in the URL is redacted, the rest kept."""
    from kubeward.detect.engine import redact_uri

    uri = "/api/v1/pods?access_token=eyJhbGciOiJSUzI1NiJ9.abc.def&watch=true&command=sh"
    shown = redact_uri(uri)
    assert "eyJhbGciOiJSUzI1NiJ9" not in shown
    assert shown.startswith("/api/v1/pods?access_token=<redacted")
    assert shown.endswith("&watch=true&command=sh")
    assert redact_uri("/api/v1/namespaces/a/pods/p/exec?command=sh&container=c") == (
        "/api/v1/namespaces/a/pods/p/exec?command=sh&container=c")
    assert redact_uri("/healthz") == "/healthz"

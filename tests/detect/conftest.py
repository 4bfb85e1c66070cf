"""Helpers for the detect unit tests: audit events shaped like the v1.20 API server's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent.parent / "fixtures" / "detect"


def fixture_event(rule: str, name: str) -> Any:
    return json.loads((FIXTURES / rule / name).read_text())


def with_time(event: dict[str, Any], stamp: str) -> dict[str, Any]:
    return {**event, "stageTimestamp": stamp, "requestReceivedTimestamp": stamp}

"""Renderers of a ScanReport: text table, JSON, SARIF 2.1.0, JUnit XML."""

from __future__ import annotations

FORMATS = ("table", "json", "sarif", "junit")

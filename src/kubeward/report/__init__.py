"""Renderers of a ScanReport: text table, JSON, SARIF 2.1.0, JUnit XML, HTML, Prometheus."""

from __future__ import annotations

FORMATS = ("table", "json", "sarif", "junit", "html", "prometheus")

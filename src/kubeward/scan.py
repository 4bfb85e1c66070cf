"""`kubeward scan` as a library call: sources -> inventory -> rules -> exceptions.

The only I/O is the loading of the inputs; the rest is the pure engine. Outputs render the
returned ScanReport.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from kubeward.config import Config
from kubeward.exceptions import ExceptionEntry, ExceptionReport, apply_exceptions, parse_entries
from kubeward.findings import Finding, Severity
from kubeward.inventory.index import Inventory
from kubeward.inventory.sources import InputError, LoadResult, load_paths
from kubeward.rules.base import Rule

__all__ = ["ScanReport", "run_scan", "scan_inventory"]


@dataclass(slots=True)
class ScanReport:
    findings: list[Finding]
    rules: list[Rule]
    inventory: Inventory
    config: Config
    errors: list[InputError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    exceptions: ExceptionReport = field(default_factory=ExceptionReport)
    inputs: int = 0
    skipped: int = 0

    @property
    def active(self) -> list[Finding]:
        """Findings that count: not suppressed by an exception."""
        return [f for f in self.findings if f.suppressed is None]

    @property
    def suppressed(self) -> list[Finding]:
        return [f for f in self.findings if f.suppressed is not None]

    def counts(self) -> dict[Severity, int]:
        counts = dict.fromkeys(Severity, 0)
        for f in self.active:
            counts[f.severity] += 1
        return counts

    def failed(self, threshold: Severity) -> bool:
        return any(f.severity >= threshold for f in self.active)


def run_scan(
    paths: Sequence[str],
    config: Config,
    *,
    extra_exceptions: Sequence[ExceptionEntry] = (),
    strict: Sequence[str] = (),
    render: bool = True,
    stdin_text: str | None = None,
    today: dt.date | None = None,
) -> ScanReport:
    loaded = load_paths(paths, render_charts=render, stdin_text=stdin_text)
    return scan_inventory(
        loaded, config, extra_exceptions=extra_exceptions, strict=strict, today=today
    )


def scan_inventory(
    loaded: LoadResult,
    config: Config,
    *,
    extra_exceptions: Sequence[ExceptionEntry] = (),
    strict: Sequence[str] = (),
    today: dt.date | None = None,
) -> ScanReport:
    from kubeward.engine import run_rules
    from kubeward.rules.catalog import load_catalog

    rules = load_catalog()
    inventory = Inventory(loaded.resources)
    result = run_rules(inventory, config, rules)
    entries, problems = parse_entries(config.exceptions, config.path or "config")
    entries.extend(extra_exceptions)
    exceptions = apply_exceptions(
        result.findings,
        inventory,
        entries,
        strict=(*config.strict, *strict),
        today=today,
    )
    exceptions.invalid.extend(problems)
    result.findings.sort(key=lambda f: f.sort_key)
    return ScanReport(
        findings=result.findings,
        rules=[r for r in rules if config.rule_enabled(r.id)],
        inventory=inventory,
        config=config,
        errors=loaded.errors,
        warnings=[str(w) for w in loaded.warnings] + result.warnings,
        exceptions=exceptions,
        inputs=loaded.inputs,
        skipped=loaded.skipped,
    )

"""`kubeward scan` as a library call: sources -> inventory -> rules -> exceptions.

The only I/O is the loading of the inputs; the rest is the pure engine. Outputs render the
returned ScanReport.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kubeward.config import Config
from kubeward.exceptions import ExceptionEntry, ExceptionReport, apply_exceptions, parse_entries
from kubeward.findings import Finding, Severity, resolve_lines
from kubeward.inventory.index import Inventory
from kubeward.inventory.sources import InputError, LoadResult, load_paths
from kubeward.rules.base import Rule

if TYPE_CHECKING:
    from kubeward.inventory.cluster import KindStatus

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


def scan_cluster_objects(
    objects: Sequence[dict[str, Any]],
    kinds: Sequence[KindStatus],
    shown: str,
    source_kind: str,
    config: Config,
    *,
    extra_exceptions: Sequence[ExceptionEntry] = (),
    strict: Sequence[str] = (),
) -> ScanReport:
    """Audit objects read from a cluster or a snapshot; kinds that could not be listed
    become warnings naming the checks that did not run."""
    from kubeward.inventory.cluster import resources_from_objects

    loaded = LoadResult(resources=resources_from_objects(objects, shown, source_kind), inputs=1)
    report = scan_inventory(loaded, config, extra_exceptions=extra_exceptions, strict=strict)
    report.warnings[:0] = coverage_warnings(kinds, report.rules)
    return report


def coverage_warnings(kinds: Sequence[KindStatus], rules: Sequence[Rule]) -> list[str]:
    from kubeward.k8s.pods import WORKLOAD_KINDS
    from kubeward.rules.base import Scope

    out = []
    for status in kinds:
        if status.status not in ("forbidden", "error"):
            continue
        kind = status.kind.kind
        affected = sorted(
            r.id for r in rules
            if kind in r.kinds
            or (kind in WORKLOAD_KINDS and r.scope in (Scope.POD, Scope.ENGINE))
        )
        what = ", ".join(affected) if affected else "no rule reads it directly"
        out.append(f"cannot list {kind} ({status.status}: {status.detail}); checks that could "
                   f"not run on {kind} objects: {what}")
    return out


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
    resolve_lines(result.findings)
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

"""A ScanReport as a stored run: counts, and each finding with its stable fingerprint."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kubeward.findings import fingerprint
from kubeward.history.store import Location, open_store
from kubeward.history.target import Target

if TYPE_CHECKING:
    from kubeward.findings import Finding
    from kubeward.scan import ScanReport

__all__ = ["SavedRun", "finding_row", "fingerprint", "iso", "save_run"]


@dataclass(slots=True, frozen=True)
class SavedRun:
    id: int
    target: str
    location: Location

    def describe(self) -> str:
        return f"saved run {self.id} ({self.target}) to {self.location.shown}"


def iso(when: dt.datetime) -> str:
    """UTC, fixed width: sorts as text the way it sorts in time, in either database."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")



def finding_row(seq: int, f: Finding) -> tuple[Any, ...]:
    """FINDING_COLUMNS without run_id. Only what the outputs already show is kept (no
    object content, no fix values): messages carry redacted secrets only."""
    res = f.resource
    return (
        seq,
        fingerprint(f),
        f.rule.id,
        f.severity.label,
        res.api_version if res else "",
        res.kind if res else "",
        (res.namespace or "") if res else "",
        res.name if res else "",
        f.message,
        f.file,
        f.line,
        0 if f.suppressed is None else 1,
    )


def save_run(report: ScanReport, store: str | None = None, *, target: Target,
             started: dt.datetime | None = None,
             finished: dt.datetime | None = None) -> SavedRun:
    """Store one run; `store` is the `--save` value (None: $KUBEWARD_HISTORY or the default
    SQLite file). Raises HistoryError with a one-line message on any store problem."""
    from kubeward import __version__
    from kubeward.findings import Severity
    from kubeward.rules.catalog import CATALOG_VERSION

    finished = finished or dt.datetime.now(dt.UTC)
    started = started or finished
    counts = report.counts()
    run = (
        target.key,
        target.kind,
        json.dumps(target.details, sort_keys=True),
        "audit" if target.kind == "cluster" else "scan",
        iso(started),
        iso(finished),
        __version__,
        CATALOG_VERSION,
        counts[Severity.CRITICAL],
        counts[Severity.HIGH],
        counts[Severity.MEDIUM],
        counts[Severity.LOW],
        counts[Severity.INFO],
        len(report.suppressed),
        len(report.inventory),
    )
    rows = [finding_row(i, f) for i, f in enumerate(report.findings)]
    with open_store(store) as db:
        run_id = db.insert_run(run, rows)
        return SavedRun(run_id, target.key, db.location)

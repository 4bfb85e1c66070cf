"""Run history: store each scan or audit, list runs, diff two runs (docs/history.md).

Imported only by `--save`, `kubeward history` and `kubeward diff`; PostgreSQL's driver is
imported only when a PostgreSQL URL is used.
"""

from kubeward.history.diff import RunDiff, diff_findings
from kubeward.history.record import SavedRun, fingerprint, save_run
from kubeward.history.store import (
    SCHEMA_VERSION,
    HistoryError,
    Location,
    Store,
    default_location,
    open_store,
    parse_location,
)
from kubeward.history.target import Target, cluster_target, scan_target

__all__ = [
    "SCHEMA_VERSION",
    "HistoryError",
    "Location",
    "RunDiff",
    "SavedRun",
    "Store",
    "Target",
    "cluster_target",
    "default_location",
    "diff_findings",
    "fingerprint",
    "open_store",
    "parse_location",
    "save_run",
    "scan_target",
]

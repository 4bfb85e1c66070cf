"""New, fixed and still-open findings between two runs, matched by fingerprint.

Findings are matched as multisets: two identical findings (same fingerprint) in run A and
one in run B are one still open and one fixed. Only active findings count; a finding active
in A that is suppressed by an exception in B is listed as `suppressed`, not as fixed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RunDiff", "diff_findings"]

Row = dict[str, Any]


@dataclass(slots=True)
class RunDiff:
    new: list[Row] = field(default_factory=list)
    fixed: list[Row] = field(default_factory=list)
    open: list[Row] = field(default_factory=list)
    suppressed: list[Row] = field(default_factory=list)


def _group(rows: list[Row], suppressed: bool) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        if bool(row["suppressed"]) == suppressed:
            out[row["fingerprint"]].append(row)
    return out


def diff_findings(a: list[Row], b: list[Row]) -> RunDiff:
    old, cur = _group(a, False), _group(b, False)
    quiet = _group(b, True)
    result = RunDiff()
    for fp, rows in cur.items():
        before = len(old.get(fp, ()))
        result.open += rows[:before]
        result.new += rows[before:]
    for fp, rows in old.items():
        gone = rows[len(cur.get(fp, ())):]
        hidden = len(quiet.get(fp, ()))
        result.suppressed += gone[:hidden]
        result.fixed += gone[hidden:]
    return result

"""`kubeward history` and `kubeward diff`: the stored runs (docs/history.md).

Also what `scan --save` / `audit --save` call: `SAVE_OPTION` and `save_or_fail`.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from kubeward.history import Store, Target
    from kubeward.scan import ScanReport

__all__ = ["SAVE_OPTION", "diff_cmd", "history_cmd", "save_or_fail"]

_STORE_HELP = ("History store: a SQLite file, sqlite:///PATH or postgresql://USER@HOST:PORT/DB "
               "[default: $KUBEWARD_HISTORY, else $XDG_DATA_HOME/kubeward/history.db].")

# `--save` alone: the default store; `--save=URL` (or `--save URL` after the paths): that one.
SAVE_OPTION = click.option(
    "--save", "save", is_flag=False, flag_value="", default=None, metavar="[URL]",
    help="Store this run in the history (see `kubeward history`): the default SQLite file, "
         "$KUBEWARD_HISTORY, or URL (a file, sqlite:///PATH, postgresql://USER@HOST/DB).")


def _fail(message: str) -> NoReturn:
    """One `Error: …` line, exit 2 (imported lazily: `kubeward --help` stays fast)."""
    from kubeward.cli.options import Problem

    raise Problem(message) from None


def save_or_fail(report: ScanReport, store: str, target: Target,
                 started: dt.datetime | None = None) -> None:
    """Save the run, say so on stderr; a store problem is one `Error:` line and exit 2."""
    from kubeward.history import HistoryError, save_run

    try:
        saved = save_run(report, store or None, target=target, started=started)
    except HistoryError as err:
        _fail(f"cannot save the run: {err}")
    click.echo(saved.describe(), err=True)


def _open(store: str | None) -> Store:
    from kubeward.history import HistoryError, open_store

    try:
        return open_store(store)
    except HistoryError as err:
        _fail(str(err))


_AGE = re.compile(r"^(\d+)\s*([hdw])$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def _parse_age(text: str) -> dt.timedelta:
    m = _AGE.match(text.strip().lower())
    if not m:
        raise click.BadParameter(f"{text!r}: expected a number and h, d or w, e.g. 90d",
                                 param_hint="--prune-older-than")
    amount = int(m.group(1))
    if amount > 100_000:
        raise click.BadParameter(f"{text!r}: too large", param_hint="--prune-older-than")
    return dt.timedelta(**{_UNITS[m.group(2)]: amount})


def _counts(run: dict[str, Any]) -> dict[str, int]:
    return {k: int(run[k]) for k in ("critical", "high", "medium", "low", "info")}


def _run_json(run: dict[str, Any]) -> dict[str, Any]:
    import json

    return {
        "id": run["id"],
        "target": run["target"],
        "targetKind": run["target_kind"],
        "command": run["command"],
        "startedAt": run["started_at"],
        "finishedAt": run["finished_at"],
        "kubewardVersion": run["kubeward_version"],
        "catalogVersion": run["catalog_version"],
        "findings": sum(_counts(run).values()),
        "bySeverity": _counts(run),
        "suppressed": int(run["suppressed"]),
        "resources": int(run["resources"]),
        "details": json.loads(run["details"]),
    }


def _when(iso: str) -> str:
    return iso[:19].replace("T", " ")


def _dump(doc: Any) -> None:
    import orjson

    sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> None:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]
    for row in (header, *rows):
        cells = [str(c).rjust(w) if i in right else str(c).ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        click.echo("  ".join(cells).rstrip())


@click.command("history")
@click.option("--store", metavar="URL", help=_STORE_HELP)
@click.option("--target", "target", metavar="KEY", help="Only runs of this target key.")
@click.option("-n", "--limit", type=click.IntRange(min=1), default=None, help="At most N runs.")
@click.option("-o", "--output", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format.")
@click.option("--prune-older-than", "prune", metavar="AGE",
              help="Delete runs started more than AGE ago (e.g. 90d, 12w, 36h), then list.")
def history_cmd(store: str | None, target: str | None, limit: int | None, fmt: str,
                prune: str | None) -> None:
    """List stored runs, newest first (id, time, target, findings by severity).

    Runs are stored by `kubeward scan --save` and `kubeward audit --save`, keyed by target:
    the git repository and paths for a scan, the API server and context for an audit.

    \b
    Examples:
      kubeward history
      kubeward history --target 'cluster:https://10.0.0.1:6443@prod' -o json
      kubeward history --prune-older-than 90d
      kubeward history --store postgresql://kubeward@db.internal/kubeward
    """
    from kubeward.history import HistoryError
    from kubeward.history.record import iso

    age = _parse_age(prune) if prune else None
    with _open(store) as db:
        try:
            if age is not None:
                removed = db.prune(iso(dt.datetime.now(dt.UTC) - age), target)
                click.echo(f"pruned {removed} run(s) older than {prune}", err=True)
            runs = db.runs(target, limit)
        except HistoryError as err:
            _fail(str(err))
        shown = db.location.shown
    if fmt == "json":
        _dump({"store": shown, "runs": [_run_json(r) for r in runs]})
        return
    if not runs:
        click.echo(f"no runs in {shown}" + (f" for {target}" if target else ""), err=True)
        return
    rows = [(str(r["id"]), _when(r["started_at"]), r["command"], *map(str, _counts(r).values()),
             str(r["suppressed"]), r["target"]) for r in runs]
    _table(("ID", "STARTED (UTC)", "CMD", "CRIT", "HIGH", "MED", "LOW", "INFO", "SUPP", "TARGET"),
           rows, right={0, 3, 4, 5, 6, 7, 8})


_REF = re.compile(r"^(?:(\d+)|latest(?:~(\d+))?)$")


def _resolve(db: Store, ref: str, target: str | None, hint: str) -> dict[str, Any]:
    from kubeward.history import HistoryError

    m = _REF.match(ref.strip().lower())
    if m and any(g is not None and len(g) > 15 for g in m.groups()):
        _fail(f"no run {ref} in {db.location.shown} (see `kubeward history`)")
    if not m:
        raise click.BadParameter(f"{ref!r}: expected a run id, latest or latest~N",
                                 param_hint=hint)
    try:
        if m.group(1) is not None:
            run = db.run(int(m.group(1)))
            where = ""
        else:
            run = db.nth_latest(int(m.group(2) or 0), target)
            where = f" for {target}" if target else ""
    except HistoryError as err:
        _fail(str(err))
    if run is None:
        _fail(f"no run {ref}{where} in {db.location.shown} (see `kubeward history`)")
    return run


def _finding_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "fingerprint": row["fingerprint"],
        "rule": row["rule"],
        "severity": row["severity"],
        "message": row["message"],
        "resource": {"apiVersion": row["api_version"], "kind": row["kind"],
                     "namespace": row["namespace"] or None, "name": row["name"]},
        "location": {"file": row["file"], "line": row["line"] or None},
    }


def _ref(row: dict[str, Any]) -> str:
    parts = [row["kind"], row["namespace"], row["name"]]
    return "/".join(p for p in parts if p) or "cluster"


_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}


def _sorted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (_ORDER.get(r["severity"], 9), r["rule"], _ref(r),
                                       r["message"]))


@click.command("diff")
@click.argument("run_a", metavar="RUN_A")
@click.argument("run_b", metavar="[RUN_B]", required=False)
@click.option("--store", metavar="URL", help=_STORE_HELP)
@click.option("--target", "target", metavar="KEY",
              help="Resolve `latest` / `latest~N` among this target's runs.")
@click.option("-o", "--output", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format.")
@click.option("--fail-on-new", is_flag=True, help="Exit 1 when RUN_B has findings RUN_A had not.")
def diff_cmd(run_a: str, run_b: str | None, store: str | None, target: str | None, fmt: str,
             fail_on_new: bool) -> None:
    """Compare two stored runs: new, fixed and still-open findings.

    Findings are matched by fingerprint (rule, object and message), so moved lines and
    re-ordered files do not count as changes. RUN_A and RUN_B are run ids, `latest` or
    `latest~N` (N runs before the latest); RUN_B defaults to the latest run of RUN_A's target.

    \b
    Exit codes: 0, 1 with --fail-on-new when RUN_B has new findings, 2 usage error or
    unknown run.

    \b
    Examples:
      kubeward diff 12 15
      kubeward diff latest~1            # the previous run against the latest
      kubeward diff 12 -o json --fail-on-new
    """
    from kubeward.history import HistoryError, diff_findings

    with _open(store) as db:
        a = _resolve(db, run_a, target, "RUN_A")
        b = _resolve(db, run_b or "latest", target or a["target"], "RUN_B")
        try:
            result = diff_findings(db.findings(a["id"]), db.findings(b["id"]))
        except HistoryError as err:
            _fail(str(err))
    if a["target"] != b["target"]:
        click.echo(f"note: runs {a['id']} and {b['id']} have different targets", err=True)
    groups = {"new": result.new, "fixed": result.fixed, "open": result.open,
              "suppressed": result.suppressed}
    if fmt == "json":
        _dump({"from": _run_json(a), "to": _run_json(b),
               "summary": {k: len(v) for k, v in groups.items()},
               **{k: [_finding_json(r) for r in _sorted(v)] for k, v in groups.items()}})
    else:
        click.echo(f"run {a['id']} ({_when(a['started_at'])}) -> run {b['id']} "
                   f"({_when(b['started_at'])})  {b['target']}")
        titles = {"new": "NEW", "fixed": "FIXED", "suppressed": "NOW SUPPRESSED",
                  "open": "STILL OPEN"}
        for key in ("new", "fixed", "suppressed", "open"):
            rows = _sorted(groups[key])
            if not rows:
                continue
            click.echo(f"\n{titles[key]} ({len(rows)})")
            for r in rows:
                where = f"{r['file']}:{r['line']}" if r["file"] and r["line"] else r["file"]
                click.echo(f"  {r['severity']:<8} {r['rule']}  {_ref(r)}  {r['message']}"
                           + (f"  [{where}]" if where else ""))
        click.echo(f"\n{len(result.new)} new, {len(result.fixed)} fixed, "
                   f"{len(result.open)} still open"
                   + (f", {len(result.suppressed)} now suppressed" if result.suppressed else ""))
    if fail_on_new and result.new:
        sys.exit(1)

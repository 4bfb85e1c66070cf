"""Where a command's objects come from: files, a snapshot, or the live cluster.

`scan`-like commands that accept all three (`plan`, `rbac …`, `netpol …`) call
`report_for`; it exits with code 2 and one line when nothing could be read.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from kubeward.config import Config
    from kubeward.exceptions import ExceptionEntry
    from kubeward.inventory.cluster import ClusterRead, KindStatus
    from kubeward.inventory.index import Inventory
    from kubeward.scan import ScanReport


def report_for(
    paths: Sequence[str],
    snapshot_path: str | None,
    kubeconfig: str | None,
    context: str | None,
    timeout: float,
    config: Config,
    *,
    extra_exceptions: Sequence[ExceptionEntry] = (),
    strict: Sequence[str] = (),
    render: bool = True,
) -> tuple[ScanReport, tuple[str, str | None] | None]:
    """Scan PATHS if given, else the snapshot if given, else the live cluster.

    Also returns the cluster the objects came from, (server, context), or None for files.
    """
    from kubeward.scan import run_scan, scan_cluster_objects

    if paths:
        report = run_scan(paths, config, extra_exceptions=extra_exceptions, strict=strict,
                          render=render)
        return report, None
    if snapshot_path:
        from kubeward.inventory.snapshot import SnapshotError, read_snapshot

        try:
            snap = read_snapshot(snapshot_path)
        except SnapshotError as err:
            fail(str(err))
        report = scan_cluster_objects(snap.objects, snap.kinds, f"snapshot:{snapshot_path}",
                                      "snapshot", config, extra_exceptions=extra_exceptions,
                                      strict=strict)
        return report, (snap.server, snap.context)
    read = read_live(kubeconfig, context, timeout)
    report = scan_cluster_objects(read.objects, read.kinds, read.server, "cluster", config,
                                  extra_exceptions=extra_exceptions, strict=strict)
    return report, (read.server, read.context)


def inventory_for(
    paths: Sequence[str],
    snapshot_path: str | None,
    kubeconfig: str | None,
    context: str | None,
    timeout: float,
    *,
    incomplete_when: Callable[[KindStatus], str | None] = lambda status: None,
) -> Inventory:
    """The Inventory of PATHS, else the snapshot, else the live cluster (errors exit 2).

    For cluster sources, `incomplete_when(status)` may return a warning for a kind that
    could not be listed (e.g. RBAC answers without the RBAC kinds)."""
    from kubeward.inventory.index import Inventory

    if paths:
        from kubeward.cli.options import print_errors
        from kubeward.inventory.sources import load_paths

        loaded = load_paths(paths)
        print_errors(loaded.errors)
        if loaded.errors and not loaded.resources:
            sys.exit(2)
        return Inventory(loaded.resources)
    from kubeward.inventory.cluster import resources_from_objects

    if snapshot_path:
        from kubeward.inventory.snapshot import SnapshotError, read_snapshot

        try:
            snap = read_snapshot(snapshot_path)
        except SnapshotError as err:
            fail(str(err))
        objects, kinds, shown, kind = (snap.objects, snap.kinds, f"snapshot:{snapshot_path}",
                                       "snapshot")
    else:
        read = read_live(kubeconfig, context, timeout)
        objects, kinds, shown, kind = read.objects, read.kinds, read.server, "cluster"
    for status in kinds:
        if status.status in ("forbidden", "error"):
            warning = incomplete_when(status)
            if warning:
                click.echo(f"warning: {warning}", err=True)
    return Inventory(resources_from_objects(objects, shown, kind))


def input_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--snapshot plus the live-cluster options (--kubeconfig, --context, --request-timeout)."""
    from kubeward.cli.audit import cluster_options

    fn = click.option("--snapshot", "snapshot_path", metavar="FILE",
                      help="Read a snapshot file instead of PATHS or the live cluster.")(fn)
    return cluster_options(fn)  # type: ignore[no-any-return]


def read_live(kubeconfig: str | None, context: str | None, timeout: float) -> ClusterRead:
    from kubeward.inventory.cluster import ClusterError, connect, read_cluster

    try:
        conn = connect(kubeconfig, context, timeout)
        try:
            return read_cluster(conn)
        finally:
            conn.close()
    except ClusterError as err:
        fail(str(err))


def fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(2)

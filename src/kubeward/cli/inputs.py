"""Where a command's objects come from: files, a snapshot, or the live cluster.

`scan`-like commands that accept all three (`plan`, `rbac …`, `netpol …`) call
`report_for`; it exits with code 2 and one line when nothing could be read.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

import click

if TYPE_CHECKING:
    from kubeward.config import Config
    from kubeward.exceptions import ExceptionEntry
    from kubeward.inventory.cluster import ClusterRead
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

"""`kubeward audit` (a live cluster or a snapshot) and `kubeward snapshot`."""

from __future__ import annotations

from typing import Any

import click

from kubeward.cli.inputs import read_live as _read  # noqa: F401 - kept for other commands
from kubeward.cli.report_opts import report_options

_CLUSTER = [
    click.option("--kubeconfig", metavar="FILE", envvar="KUBECONFIG",
                 help="Kubeconfig file [default: $KUBECONFIG, ~/.kube/config, or in-cluster]."),
    click.option("--context", metavar="NAME", help="Kubeconfig context [default: current]."),
    click.option("--request-timeout", type=float, default=30.0, show_default=True,
                 metavar="SECONDS", help="Timeout of each API request."),
]


def cluster_options(fn: Any) -> Any:
    for option in reversed(_CLUSTER):
        fn = option(fn)
    return fn


@click.command("audit")
@cluster_options
@click.option("--snapshot", "snapshot_path", metavar="FILE",
              help="Audit a snapshot file offline instead of a live cluster.")
@report_options
def audit(kubeconfig: str | None, context: str | None, request_timeout: float,
          snapshot_path: str | None, **opts: Any) -> None:
    """Audit a live cluster (read-only) or a snapshot against the checklist.

    Runs every rule of `scan` plus the cluster-wide ones (namespace labels, default-deny
    policies, cluster-admin bindings, control-plane flags, security stack). Needs only
    get/list access: deploy/audit-clusterrole.yaml is the minimal ClusterRole. A kind
    it may not list is a warning that names the checks that could not run.

    \b
    Examples:
      kubeward audit
      kubeward audit --context prod -o sarif --output-file prod.sarif
      kubeward snapshot -o prod.snapshot.json.gz && kubeward audit --snapshot prod.snapshot.json.gz
    """
    from kubeward.cli.inputs import report_for
    from kubeward.cli.report_opts import finish, resolve

    settings = resolve([], opts)
    report, origin = report_for((), snapshot_path, kubeconfig, context, request_timeout,
                                settings.config, extra_exceptions=settings.extra_exceptions,
                                strict=settings.strict)
    if settings.save is not None and origin is not None:
        from kubeward.history import cluster_target

        settings.target = cluster_target(*origin)
    finish(report, settings)


@click.command("snapshot")
@cluster_options
@click.option("-o", "--output", "output", required=True, metavar="FILE",
              help="Snapshot file to write (gzip-compressed JSON).")
def snapshot(kubeconfig: str | None, context: str | None, request_timeout: float,
             output: str) -> None:
    """Save what `audit` needs from a cluster to one file, for offline audits.

    Secrets are reduced to names, types and key names: no value is ever written.

    \b
    Examples:
      kubeward snapshot -o cluster.snapshot.json.gz
      kubeward audit --snapshot cluster.snapshot.json.gz -o json
    """
    from kubeward.cli.inputs import fail, read_live
    from kubeward.inventory.snapshot import SnapshotError, write_snapshot

    read = read_live(kubeconfig, context, request_timeout)
    for status in read.kinds:
        if status.status in ("forbidden", "error"):
            click.echo(f"warning: {status.kind.kind}: {status.status}: {status.detail}", err=True)
    try:
        size = write_snapshot(read, output)
    except SnapshotError as err:
        fail(str(err))
    click.echo(f"wrote {output}: {len(read.objects)} objects from {read.server}, "
               f"{size / 1024:.0f} KiB", err=True)

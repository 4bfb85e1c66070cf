"""`kubeward scan`: manifests, charts and kustomizations against the checklist."""

from __future__ import annotations

from typing import Any

import click

from kubeward.cli.report_opts import report_options


@click.command("scan")
@click.argument("paths", nargs=-1, required=True)
@click.option("--no-render", is_flag=True,
              help="Do not run helm/kustomize on chart and kustomization directories.")
@report_options
def scan(paths: tuple[str, ...], no_render: bool, **opts: Any) -> None:
    """Scan manifests for checklist gaps.

    PATHS are files, directories (searched for *.yaml, *.yml, *.json), Helm chart or
    Kustomize directories (rendered with helm / kubectl kustomize), or - for stdin.

    \b
    Exit codes: 0 no finding at or above --fail-on, 1 findings, 2 usage error or
    nothing could be read. Input errors (file:line) go to stderr; the rest is scanned.

    \b
    Examples:
      kubeward scan k8s/
      kubeward scan -o sarif --output-file kubeward.sarif .
      kubectl get deploy -A -o json | kubeward scan -o json -
      kubeward scan --fail-on high --allowed-registry ghcr.io/acme deploy/
    """
    from kubeward.cli.report_opts import finish, resolve
    from kubeward.scan import run_scan

    settings = resolve(paths, opts)
    if settings.save is not None:
        from kubeward.history import scan_target

        settings.target = scan_target(paths)
    report = run_scan(paths, settings.config, extra_exceptions=settings.extra_exceptions,
                      strict=settings.strict, render=not no_render)
    finish(report, settings)

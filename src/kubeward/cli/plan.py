"""`kubeward plan`: the ordered hardening roadmap, with the YAML and commands for each step."""

from __future__ import annotations

import sys
from typing import Any

import click

from kubeward.cli.audit import cluster_options


@click.command("plan")
@click.argument("paths", nargs=-1)
@cluster_options
@click.option("--snapshot", "snapshot_path", metavar="FILE", help="Plan from a snapshot file.")
@click.option("-o", "--output", "fmt", type=click.Choice(["text", "json", "yaml"]),
              default="text", show_default=True,
              help="yaml prints only the manifests to apply (kubectl apply -f -).")
@click.option("--config", "config_path", metavar="FILE", help="Config file.")
@click.option("--no-config", is_flag=True, help="Ignore any .kubeward.yaml.")
def plan(paths: tuple[str, ...], kubeconfig: str | None, context: str | None,
         request_timeout: float, snapshot_path: str | None, fmt: str,
         config_path: str | None, no_config: bool) -> None:
    """The hardening roadmap for these manifests, this snapshot or the live cluster.

    Steps follow the checklist's order (RBAC, secrets, Pod Security baseline then
    restricted, default-deny NetworkPolicies, image gates, runtime detection); each says
    what to run or apply and what it would break (e.g. which workloads a restricted label
    would reject). With no PATHS and no --snapshot, the live cluster is read.

    \b
    Examples:
      kubeward plan k8s/
      kubeward plan --snapshot prod.snapshot.json.gz
      kubeward plan -o yaml k8s/ > hardening.yaml
    """
    from kubeward.cli.inputs import report_for
    from kubeward.cli.options import load_config_for, print_errors
    from kubeward.plan import build_plan

    config = load_config_for(paths, config_path, no_config)
    report, _ = report_for(paths, snapshot_path, kubeconfig, context, request_timeout, config)
    if paths:
        print_errors(report.errors)
        if report.errors and not report.inventory:
            sys.exit(2)
    steps = build_plan(report)
    if fmt == "yaml":
        import yaml

        docs = [m for s in steps for m in s.manifests]
        click.echo(yaml.safe_dump_all(docs, sort_keys=False) if docs else "", nl=False)
        return
    if fmt == "json":
        import orjson

        doc: list[dict[str, Any]] = [
            {"step": s.number, "checklist": s.checklist, "title": s.title, "why": s.why,
             "status": s.status, "actions": s.actions, "manifests": s.manifests,
             "breaks": s.breaks, "objects": s.objects}
            for s in steps
        ]
        click.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
        return
    for s in steps:
        mark = {"done": "done", "todo": "to do", "unknown": "cannot tell"}.get(s.status, s.status)
        click.echo(f"{s.number}. [{mark}] {s.title}  (checklist item {s.checklist})")
        click.echo(f"   why: {s.why}")
        for a in s.actions:
            click.echo(f"   run: {a}")
        if s.manifests:
            kinds = ", ".join(f"{m['kind']}/{m['metadata']['name']}" for m in s.manifests[:6])
            more = f" (+{len(s.manifests) - 6})" if len(s.manifests) > 6 else ""
            click.echo(f"   apply: {kinds}{more}   (kubeward plan -o yaml prints them)")
        for b in s.breaks:
            click.echo(f"   breaks: {b}")
        if s.objects and s.status == "todo":
            click.echo(f"   objects: {', '.join(s.objects)}")
        click.echo("")

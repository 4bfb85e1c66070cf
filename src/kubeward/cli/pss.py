"""`kubeward pss`: Pod Security Standards check and per-namespace enforcement plan."""

from __future__ import annotations

import sys

import click


@click.group("pss")
def pss() -> None:
    """Pod Security Standards: upstream-exact checks (every level, v1.0 to latest).

    \b
    Examples:
      kubeward pss check --level restricted --version v1.30 k8s/
      kubeward pss plan k8s/
    """


def _load(paths: tuple[str, ...]):  # type: ignore[no-untyped-def]
    from kubeward.cli.options import print_errors
    from kubeward.inventory.index import Inventory
    from kubeward.inventory.sources import load_paths

    loaded = load_paths(paths)
    print_errors(loaded.errors)
    if loaded.errors and not loaded.resources:
        sys.exit(2)  # nothing could be read: a clean exit would pass a gate that checked nothing
    return Inventory(loaded.resources)


def _level_version(level: str, version: str) -> tuple[str, str]:
    from kubeward import pss as engine

    try:
        engine.parse_level(level)
        engine.parse_version(version)
    except ValueError as err:
        raise click.BadParameter(str(err)) from None
    return level.lower(), version


@pss.command("check")
@click.argument("paths", nargs=-1, required=True)
@click.option("--level", default="restricted", show_default=True,
              type=click.Choice(["privileged", "baseline", "restricted"], case_sensitive=False))
@click.option("--version", "version", default="latest", show_default=True,
              help="Policy version: v1.0 … v1.37 or latest.")
@click.option("-o", "--output", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def check(paths: tuple[str, ...], level: str, version: str, fmt: str) -> None:
    """Would Pod Security admission at LEVEL/VERSION admit every pod and pod template?

    Evaluates Pods and the templates of Deployments, StatefulSets, DaemonSets, Jobs,
    CronJobs, ReplicaSets, ReplicationControllers and PodTemplates exactly as the
    upstream PodSecurity admission plugin would. Exit 0 when all are allowed, 1 when
    any is denied, 2 on usage or input errors.

    \b
    Examples:
      kubeward pss check --level restricted k8s/
      kubeward pss check --level baseline --version v1.25 -o json deploy.yaml
    """
    from kubeward.podsecurity import check_pods

    level, version = _level_version(level, version)
    inventory = _load(paths)
    verdicts = list(check_pods(inventory, level, version))
    denied = [v for v in verdicts if not v.allowed]
    if fmt == "json":
        import orjson

        objects = [
            {
                "file": v.resource.display_path,
                "line": v.resource.origin.line or None,
                "kind": v.resource.kind,
                "namespace": v.resource.namespace,
                "name": v.resource.name,
                "allowed": v.allowed,
                "violations": [
                    {"check": x.check, "level": x.level, "reason": x.reason,
                     "detail": x.detail, "message": x.message}
                    for x in v.violations
                ],
            }
            for v in verdicts
        ]
        doc = {"level": level, "version": version, "objects": objects,
               "summary": {"objects": len(verdicts), "denied": len(denied)}}
        click.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
    else:
        for v in denied:
            res = v.resource
            click.echo(f"DENIED {res.display_path}:{res.origin.line} {res.ref}")
            for x in v.violations:
                click.echo(f"  - {x.check}: {x.message}")
        click.echo(f"{len(verdicts) - len(denied)} of {len(verdicts)} pods and pod templates "
                   f"allowed at {level} {version}; {len(denied)} denied", err=fmt == "json")
    sys.exit(1 if denied else 0)


@pss.command("plan")
@click.argument("paths", nargs=-1, required=True)
@click.option("--version", "version", default="latest", show_default=True,
              help="Policy version to plan for.")
@click.option("-o", "--output", "fmt", type=click.Choice(["text", "json", "yaml"]),
              default="text", show_default=True,
              help="yaml prints the labelled Namespace objects to apply.")
def plan(paths: tuple[str, ...], version: str, fmt: str) -> None:
    """The strictest Pod Security level each namespace can enforce today.

    For every namespace: the strictest level that admits every workload in it (what the
    PSA dry-run would tell you, offline, for all namespaces at once), the workloads
    that block `restricted` and why, and the `kubectl label` command to apply.

    \b
    Examples:
      kubeward pss plan k8s/
      kubeward pss plan -o yaml k8s/ | kubectl apply -f -
    """
    from kubeward import pss as engine
    from kubeward.podsecurity import plan_namespaces

    _level_version("restricted", version)
    inventory = _load(paths)
    rows = plan_namespaces(inventory, version)
    if fmt == "json":
        import orjson

        doc = []
        for row in rows:
            blocking = {}
            for lvl, blockers in row.plan.blocking.items():
                blocking[lvl] = [
                    {"kind": row.workloads[b.index].kind, "name": row.workloads[b.index].name,
                     "file": row.workloads[b.index].display_path,
                     "line": row.workloads[b.index].origin.line,
                     "violations": [{"check": x.check, "message": x.message}
                                    for x in b.violations]}
                    for b in blockers
                ]
            doc.append({
                "namespace": row.namespace,
                "workloads": row.plan.pod_count,
                "strictest": {"level": row.plan.level,
                              "version": engine.format_version(row.plan.version)},
                "current": None if row.current is None else {
                    "enforce": row.current.enforce.level,
                    "enforceVersion": engine.format_version(row.current.enforce.version),
                },
                "blocking": blocking,
                "labels": row.plan.labels,
                "command": row.label_command(),
            })
        click.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
        return
    if fmt == "yaml":
        import yaml

        click.echo(yaml.safe_dump_all([r.namespace_yaml() for r in rows], sort_keys=False),
                   nl=False)
        return
    for row in rows:
        now = "no Namespace object in input" if row.current is None else (
            f"enforces {row.current.enforce.level}"
        )
        click.echo(f"namespace {row.namespace}: {row.plan.pod_count} workloads, strictest "
                   f"level today: {row.plan.level} ({now})")
        for lvl in ("restricted", "baseline"):
            blockers = row.plan.blocking.get(lvl, ())
            if not blockers:
                continue
            click.echo(f"  blocks {lvl}:")
            for b in blockers:
                res = row.workloads[b.index]
                checks = ", ".join(sorted({x.check for x in b.violations}))
                click.echo(f"    {res.ref} ({res.display_path}:{res.origin.line}): {checks}")
        click.echo(f"  apply: {row.label_command()}")

"""`kubeward rbac from-audit`: least-privilege Roles and bindings from audit logs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

EXIT_NO_EVENTS = 1


def _dump_yaml(objects: list[dict[str, Any]]) -> str:
    import yaml

    return "---\n".join(
        yaml.safe_dump(obj, sort_keys=False, default_flow_style=False, allow_unicode=True) for obj in objects
    )


def _emit(data: Any, fmt: str) -> None:
    import yaml

    if fmt == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    elif isinstance(data, list):
        click.echo(_dump_yaml(data), nl=False)
    else:
        click.echo(
            yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True), nl=False
        )


@click.command("from-audit")
@click.argument(
    "logs", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, allow_dash=True)
)
@click.option("--user", "user", metavar="NAME", help="The user whose requests to cover.")
@click.option(
    "--serviceaccount",
    "serviceaccount",
    metavar="NS:NAME",
    help="The service account whose requests to cover.",
)
@click.option(
    "--namespace-scoped/--cluster-scoped",
    "namespace_scoped",
    default=None,
    help="Only Roles (cluster-wide requests are reported, not granted) / only one ClusterRole "
    "(namespaced access widened to every namespace). Default: auto, a Role per namespace "
    "plus a ClusterRole for cluster-scoped and non-resource access.",
)
@click.option("-o", "--output", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@click.option(
    "--compare",
    "compare_paths",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Manifests (files or folders) with the subject's current Roles and bindings: report the "
    "permissions it holds but never used instead of generating. Repeat for more paths.",
)
@click.option(
    "--resource-names/--no-resource-names",
    default=True,
    show_default=True,
    help="Restrict get/update/patch/delete to the object names seen.",
)
@click.option(
    "--skip-discovery",
    is_flag=True,
    help="Leave out the discovery and health URLs every authenticated user already has.",
)
def from_audit(
    logs: tuple[str, ...],
    user: str | None,
    serviceaccount: str | None,
    namespace_scoped: bool | None,
    fmt: str,
    compare_paths: tuple[Path, ...],
    resource_names: bool,
    skip_discovery: bool,
) -> None:
    """The least-privilege Roles/ClusterRole and bindings covering what a subject did.

    Reads audit logs (JSON lines or documents; audit.k8s.io/v1 and v1beta1 Events and
    EventLists; `-` for stdin), keeps the subject's ResponseComplete requests that the server
    allowed, derives their RBAC attributes as the API server does, and prints compact rules:
    a Role per namespace, a ClusterRole for cluster-scoped and non-resource access, and their
    bindings, all named kubeward:from-audit:<subject>. Exit 1 when the subject has no allowed
    request in the logs, 2 on usage errors. Malformed lines are counted on stderr, never fatal.

    \b
    Examples:
      kubeward rbac from-audit audit.log --user alice > alice-rbac.yaml
      kubeward rbac from-audit a.log b.log --serviceaccount shop:api --cluster-scoped
      kubeward rbac from-audit audit.log --user alice --compare k8s/rbac/
    """
    from kubeward.rbacgen import ReadStats, Subject, generate, observe, read_events
    from kubeward.rbacgen.generate import Scope

    if (user is None) == (serviceaccount is None):
        raise click.UsageError("give exactly one of --user and --serviceaccount")
    try:
        subject = Subject.user(user) if user is not None else Subject.service_account(str(serviceaccount))
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--serviceaccount") from None

    stats = ReadStats()

    def events() -> Any:
        for log in logs:
            if log == "-":
                yield from read_events(sys.stdin, "<stdin>", stats)
            else:
                with open(log, encoding="utf-8", errors="replace") as stream:
                    yield from read_events(stream, log, stats)

    observed = observe(events(), subject)
    if stats.malformed:
        click.echo(f"kubeward: {stats.malformed} malformed line(s) or document(s) skipped:", err=True)
        for where in stats.malformed_where:
            click.echo(f"  {where}", err=True)
    if observed.unparsable:
        click.echo(
            f"kubeward: {observed.unparsable} event(s) of {subject.username} without a usable "
            "request URI or objectRef skipped",
            err=True,
        )
    click.echo(
        f"kubeward: {stats.events} event(s) read; {subject.username}: "
        f"{len(observed.requests)} distinct allowed request(s), {observed.skipped_denied} denied and "
        f"{observed.skipped_stage} non-final-stage event(s) ignored",
        err=True,
    )
    if not observed.requests:
        click.echo(f"kubeward: no allowed, completed request of {subject.username} in the logs", err=True)
        sys.exit(EXIT_NO_EVENTS)

    if compare_paths:
        from kubeward.rbacgen.compare import compare, load_rbac_objects

        warnings: list[str] = []
        objects = load_rbac_objects(compare_paths, warnings)
        result = compare(objects, subject, subject.groups(observed.groups), observed.requests)
        result.warnings[:0] = warnings
        for warning in result.warnings:
            click.echo(f"kubeward: warning: {warning}", err=True)
        if not result.bindings:
            click.echo(
                f"kubeward: no binding in the compared manifests applies to {subject.username}", err=True
            )
        _emit({"subject": subject.to_rbac(), **result.to_dict()}, fmt)
        return

    scope: Scope = "auto" if namespace_scoped is None else ("namespace" if namespace_scoped else "cluster")
    generated = generate(
        subject, observed.requests, scope=scope, resource_names=resource_names, skip_discovery=skip_discovery
    )
    for req in generated.uncovered:
        click.echo(f"kubeward: not granted (needs cluster scope): {req.describe()}", err=True)
    objects = generated.objects()
    if fmt == "json":
        _emit({"apiVersion": "v1", "kind": "List", "items": objects}, fmt)
    else:
        _emit(objects, fmt)

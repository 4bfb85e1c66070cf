"""`kubeward rbac`: who-can, access matrix, risky grants and escalation paths.

Inputs as `kubeward plan`: PATHS (manifests, charts, Kustomize), or --snapshot FILE, or,
with neither, the live cluster (--kubeconfig / --context).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from kubeward.cli.inputs import input_options, inventory_for

if TYPE_CHECKING:
    from kubeward.inventory.cluster import KindStatus
    from kubeward.inventory.index import Inventory
    from kubeward.rbac.model import RBACModel

_FORMAT = click.option("-o", "--output", "fmt", type=click.Choice(["table", "json"]),
                       default="table", show_default=True, help="Output format.")


def _rbac_incomplete(status: KindStatus) -> str | None:
    if status.kind.group != "rbac.authorization.k8s.io":
        return None
    return f"cannot list {status.kind.kind} ({status.status}): the RBAC answers are incomplete"


def load_inventory(paths: Sequence[str], snapshot_path: str | None, kubeconfig: str | None,
                   context: str | None, request_timeout: float) -> Inventory:
    """The Inventory of PATHS, a snapshot, or the live cluster (errors exit 2)."""
    return inventory_for(paths, snapshot_path, kubeconfig, context, request_timeout,
                         incomplete_when=_rbac_incomplete)


def _model(inv: Inventory) -> RBACModel:
    from kubeward.rbac.model import RBACModel

    return RBACModel.from_inventory(inv)


def _json(doc: Any) -> None:
    import orjson

    click.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    for line in (headers, *rows):
        click.echo("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


@click.group("rbac")
def rbac() -> None:
    """RBAC analysis: who can do what, a subject's access, risky grants, escalation paths.

    Exact Kubernetes RBAC semantics (aggregated ClusterRoles, RoleBindings to ClusterRoles,
    implicit groups, wildcards, subresources, resourceNames, nonResourceURLs); see
    docs/rbac.md.

    \b
    Examples:
      kubeward rbac who-can get secrets -n kube-system rbac/
      kubeward rbac access ServiceAccount:build:ci --snapshot prod.snapshot.json.gz
      kubeward rbac risks
      kubeward rbac paths User:bob
      kubeward rbac from-audit audit.log --serviceaccount ns1:sa1 > roles.yaml
    """


@rbac.command("who-can")
@click.argument("verb")
@click.argument("resource")
@click.argument("paths", nargs=-1)
@click.option("-n", "--namespace", metavar="NS",
              help="Namespace of the request [default: a cluster-wide request].")
@click.option("--name", default="", metavar="NAME", help="Name of the object.")
@click.option("--api-group", default="", metavar="GROUP",
              help='API group of RESOURCE [default: "" (the core group)].')
@_FORMAT
@input_options
def who_can(verb: str, resource: str, paths: tuple[str, ...], namespace: str | None, name: str,
            api_group: str, fmt: str, kubeconfig: str | None, context: str | None,
            request_timeout: float, snapshot_path: str | None) -> None:
    """Every subject that may VERB RESOURCE[/SUBRESOURCE] (or a /non-resource/url), and the
    binding and rule that allow it.

    \b
    Examples:
      kubeward rbac who-can create pods/exec -n prod k8s/
      kubeward rbac who-can list secrets --snapshot prod.snapshot.json.gz
      kubeward rbac who-can patch deployments --api-group apps -n shop -o json
      kubeward rbac who-can get /metrics
    """
    model = _model(load_inventory(paths, snapshot_path, kubeconfig, context, request_timeout))
    if resource.startswith("/"):
        entries = model.who_can(verb, path=resource)
    else:
        res, _, sub = resource.partition("/")
        entries = model.who_can(verb, res, sub, api_group, namespace, name)
    if fmt == "json":
        _json([{"subject": {"kind": e.subject.kind, "name": e.subject.name,
                            **({"namespace": e.subject.namespace} if e.subject.namespace else {})},
                "binding": {"kind": e.binding.kind, "name": e.binding.name,
                            **({"namespace": e.binding.namespace} if e.binding.namespace else {})},
                "role": {"kind": e.role.kind, "name": e.role.name,
                         **({"namespace": e.role.namespace} if e.role.namespace else {})},
                "ruleIndex": e.rule_index, "rule": e.rule.to_obj()} for e in entries])
        return
    if not entries:
        click.echo("no subject may do that")
        return
    _table(("SUBJECT", "BINDING", "ROLE", "RULE"),
           [(str(e.subject), str(e.binding), str(e.role), f"rules[{e.rule_index}] {e.rule}")
            for e in entries])


@rbac.command("access")
@click.argument("subject")
@click.argument("paths", nargs=-1)
@click.option("-n", "--namespace", metavar="NS",
              help="One namespace [default: cluster-wide: cluster-scoped resources and "
              "namespaced ones in all namespaces].")
@_FORMAT
@input_options
def access(subject: str, paths: tuple[str, ...], namespace: str | None, fmt: str,
           kubeconfig: str | None, context: str | None, request_timeout: float,
           snapshot_path: str | None) -> None:
    """The access matrix of SUBJECT (User:NAME, Group:NAME, ServiceAccount:NS:NAME):
    resources x verbs, rakkess-style. A ServiceAccount or User includes its implicit
    groups (system:serviceaccounts..., system:authenticated).

    \b
    Examples:
      kubeward rbac access ServiceAccount:ci:deployer -n ci k8s/
      kubeward rbac access User:alice --snapshot prod.snapshot.json.gz -o json
    """
    from kubeward.rbac.model import Subject

    try:
        who = Subject.parse(subject)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="SUBJECT") from None
    model = _model(load_inventory(paths, snapshot_path, kubeconfig, context, request_timeout))
    matrix = model.access(who, namespace)
    if fmt == "json":
        _json(matrix.to_json())
        return
    where = f"namespace {namespace}" if namespace else "cluster-wide"
    click.echo(f"{who} ({where})")
    rows = []
    for group, res, _namespaced in matrix.rows:
        allowed = matrix.cells.get((group, res), frozenset())
        if not allowed and fmt == "table":
            continue
        label = f"{res}.{group}" if group else res
        rows.append((label, *("yes" if v in allowed else "-" for v in matrix.verbs)))
    if not rows:
        click.echo("no access to any listed resource")
        return
    _table(("RESOURCE", *(v.upper() for v in matrix.verbs)), rows)


@rbac.command("risks")
@click.argument("paths", nargs=-1)
@_FORMAT
@input_options
def risks(paths: tuple[str, ...], fmt: str, kubeconfig: str | None, context: str | None,
          request_timeout: float, snapshot_path: str | None) -> None:
    """Risky RBAC grants: cluster-admin and anonymous bindings, wildcards, escalate/bind,
    impersonate, secrets, exec, pods in privileged namespaces, nodes/proxy, token
    requests, CSR approval, webhook changes. Exit code 1 when there are findings.

    \b
    Examples:
      kubeward rbac risks k8s/
      kubeward rbac risks --snapshot prod.snapshot.json.gz -o json
    """
    from kubeward.config import Config
    from kubeward.engine import run_rules
    from kubeward.rules import rbac_basics, rbac_risks
    from kubeward.rules.base import REGISTRY

    inv = load_inventory(paths, snapshot_path, kubeconfig, context, request_timeout)
    basics = [r for r in REGISTRY.values() if r.check is not None
              and r.check.__module__ == rbac_basics.__name__
              and r.kinds & {"ClusterRoleBinding", "RoleBinding"}]
    rules = sorted([*basics, *rbac_risks.RULES], key=lambda r: r.id)
    result = run_rules(inv, Config(), rules)
    findings = sorted(result.findings, key=lambda f: f.sort_key)
    if fmt == "json":
        _json([{"rule": f.rule.id, "severity": f.severity.name.lower(),
                "title": f.rule.title, "message": f.message,
                "object": {"kind": f.resource.kind, "name": f.resource.name,
                           "namespace": f.resource.namespace} if f.resource else None,
                "location": f"{f.file}:{f.line}" if f.line else f.file,
                "mitre": list(f.rule.refs.mitre), "remediation": f.rule.remediation}
               for f in findings])
    elif not findings:
        click.echo("no RBAC risks found")
    else:
        _table(("SEVERITY", "RULE", "OBJECT", "MESSAGE"),
               [(f.severity.name.lower(), f.rule.id,
                 f"{f.resource.kind}/{f.resource.name}" if f.resource else "", f.message)
                for f in findings])
    sys.exit(1 if findings else 0)


@rbac.command("paths")
@click.argument("subject", required=False)
@click.argument("paths", nargs=-1)
@_FORMAT
@input_options
def paths_cmd(subject: str | None, paths: tuple[str, ...], fmt: str, kubeconfig: str | None,
              context: str | None, request_timeout: float, snapshot_path: str | None) -> None:
    """Escalation chains to cluster-admin-equivalent power, the shortest per subject.

    SUBJECT (User:NAME, Group:NAME, ServiceAccount:NS:NAME) limits the output to one
    subject; `-` means all subjects, for use with PATHS.

    \b
    Examples:
      kubeward rbac paths - k8s/
      kubeward rbac paths ServiceAccount:ci:deployer --snapshot prod.snapshot.json.gz
    """
    from kubeward.rbac.model import Subject
    from kubeward.rbac.paths import escalation_paths

    who: Subject | None = None
    if subject and subject != "-":
        try:
            who = Subject.parse(subject)
        except ValueError:
            paths = (subject, *paths)  # kubeward rbac paths k8s/
    inv = load_inventory(paths, snapshot_path, kubeconfig, context, request_timeout)
    found = escalation_paths(_model(inv), inv, [who] if who else None)
    if fmt == "json":
        _json([{"subject": str(p.subject), "length": len(p),
                "steps": [{"subject": str(s.subject), "action": s.action,
                           "becomes": str(s.becomes) if s.becomes else "cluster-admin",
                           "via": s.via} for s in p.steps]}
               for p in sorted(found.values(), key=lambda p: (len(p), p.subject))])
        return
    if not found:
        click.echo("no escalation path to cluster-admin found")
        return
    for p in sorted(found.values(), key=lambda p: (len(p), p.subject)):
        click.echo(f"{p.subject}  ({len(p)} step{'s' if len(p) > 1 else ''})")
        for s in p.steps:
            click.echo(f"  {s.subject} can {s.action}")
            click.echo(f"      via {s.via}")
            click.echo(f"    => {s.becomes if s.becomes else 'cluster-admin equivalent'}")

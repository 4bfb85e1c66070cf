"""`kubeward netpol` (can-reach, matrix, default-deny) and `kubeward isolate`.

Inputs as in `kubeward plan`: PATHS (manifests, charts, kustomizations, `-`), or
--snapshot FILE, or, with neither, the live cluster (--kubeconfig / --context).
Semantics: kubeward.netpol.model and, for Cilium policies, kubeward.netpol.cilium
(docs/netpol.md).
"""

from __future__ import annotations

import ipaddress
import sys
from typing import TYPE_CHECKING, Any

import click

from kubeward.cli.inputs import fail, input_options, inventory_for

if TYPE_CHECKING:
    from kubeward.inventory.index import Inventory
    from kubeward.netpol.model import DirectionResult, Endpoint, Model, Workload

__all__ = ["isolate", "netpol"]


def _parse_labels(text: str) -> dict[str, str]:
    out = {}
    for part in text.split(","):
        key, eq, value = part.partition("=")
        if not eq or not key:
            raise click.BadParameter(f"{text!r}: labels are key=value[,key=value]")
        out[key.strip()] = value.strip()
    return out


def resolve_endpoint(model: Model, text: str) -> Endpoint:
    """`ns/name` (a workload), `ns/k=v[,k=v]` (a pod with these labels), `ip:CIDR`, or
    `entity:NAME` (a Cilium reserved identity: host, remote-node, kube-apiserver, ...)."""
    from kubeward.netpol.cilium import CLUSTER_ENTITIES
    from kubeward.netpol.model import Entity, External, Workload

    if text.startswith("ip:"):
        try:
            return External(ipaddress.ip_network(text[3:], strict=False))
        except ValueError as err:
            raise click.BadParameter(f"{text!r}: {err}") from None
    if text.startswith("entity:"):
        name = text[len("entity:"):]
        if name not in CLUSTER_ENTITIES:
            raise click.BadParameter(f"{text!r}: entities are {', '.join(sorted(CLUSTER_ENTITIES))} "
                                     "(for world use ip:CIDR)")
        return Entity(name)
    ns, slash, rest = text.partition("/")
    if not slash or not ns or not rest:
        raise click.BadParameter(f"{text!r}: use namespace/workload, namespace/key=value, ip:CIDR "
                                 "or entity:NAME")
    if "=" in rest:
        labels = _parse_labels(rest)
        named: dict[tuple[str, str], tuple[int, ...]] = {}
        for w in model.by_namespace.get(ns, []):
            if all(w.labels.get(k) == v for k, v in labels.items()):
                for key, nums in w.named_ports.items():
                    named[key] = tuple(sorted({*named.get(key, ()), *nums}))
        return Workload(ns, rest, "Pod", labels, named)
    found = [w for w in model.by_namespace.get(ns, []) if w.name == rest]
    if not found:
        known = ", ".join(sorted(w.name for w in model.by_namespace.get(ns, []))) or "none"
        raise click.BadParameter(f"{text!r}: no workload {rest} in namespace {ns} (known: {known})")
    if len(found) > 1:
        raise click.BadParameter(f"{text!r}: several workloads are named {rest} "
                                 f"({', '.join(w.kind for w in found)})")
    return found[0]


def _out_of_scope(inventory: Inventory) -> list[str]:
    from kubeward.netpol.cni import out_of_scope_kinds

    return [f"note: {kind} objects are present and not evaluated by this reachability model"
            for kind in out_of_scope_kinds(inventory)]


def _explain(res: DirectionResult, label: str, peer: Endpoint, port: int | None, protocol: str,
             what: str) -> list[str]:
    """Why one direction allows or denies: NetworkPolicy rules, Cilium rules, Cilium denies."""
    ok = res.ports.contains(port, protocol) if port is not None else bool(res.ports)
    denied_here = bool(res.denied_by) and (
        res.denied.contains(port, protocol) if port is not None else not res.ports)
    if res.exempt:
        return [f"  {label}: {res.exempt}"]
    if not ok and denied_here:
        return [f"  {label}: DENIED by Cilium deny rule {', '.join(res.denied_by)} (deny wins)"]
    if not res.isolated:
        out = [f"  {label}: not isolated (no NetworkPolicy or Cilium policy selects it for "
               f"{res.direction.lower()})"]
        if res.denied_by:
            out.append(f"  {label}: Cilium deny rules {', '.join(res.denied_by)} take away "
                       f"{res.denied}")
        return out
    iso = ", ".join([*(str(p) for p in res.isolating), *res.cilium_isolating])
    if not ok:
        return [f"  {label}: DENIED - isolated by {iso}; no {res.direction.lower()} rule of them "
                f"allows {peer} on {what}"]
    out = [f"  {label}: allowed by {', '.join(res.because(port, protocol))}"]
    if res.denied_by:
        out.append(f"  {label}: Cilium deny rules {', '.join(res.denied_by)} take away {res.denied}")
    return out


@click.group("netpol")
def netpol() -> None:
    """NetworkPolicy analysis: reachability, the traffic matrix, default-deny generation.

    \b
    Examples:
      kubeward netpol can-reach shop/frontend shop/api --port 8080/TCP k8s/
      kubeward netpol matrix -n shop -o svg k8s/ > shop.svg
      kubeward netpol default-deny k8s/ > default-deny.yaml
    """


@netpol.command("can-reach")
@click.argument("source", metavar="FROM")
@click.argument("destination", metavar="TO")
@click.argument("paths", nargs=-1)
@click.option("--port", "port_text", metavar="P[/PROTO]",
              help="Port and protocol (TCP default, UDP, SCTP); without it: any port.")
@input_options
def can_reach(source: str, destination: str, paths: tuple[str, ...], port_text: str | None,
              snapshot_path: str | None, kubeconfig: str | None, context: str | None,
              request_timeout: float) -> None:
    """Can FROM open a connection to TO? Exit 0 allowed, 1 denied, 2 usage.

    FROM/TO: `namespace/workload`, `namespace/key=value[,key=value]` (a pod with exactly
    these labels), `ip:CIDR` (cluster-external; allowed only if every address is) or
    `entity:NAME` (a Cilium reserved identity such as host or kube-apiserver).
    Both the source's egress and the destination's ingress must allow it; Kubernetes
    NetworkPolicies and Cilium policies (CNP/CCNP L3/L4 rules) are evaluated together.

    \b
    Examples:
      kubeward netpol can-reach shop/web shop/api --port 8080/TCP k8s/
      kubeward netpol can-reach shop/app=web ip:0.0.0.0/0 --snapshot prod.snapshot.json.gz
      kubeward netpol can-reach entity:host shop/api --port 9090 k8s/
    """
    from kubeward.netpol.model import Entity, External, Workload, build_model
    from kubeward.netpol.ports import parse_port

    port: int | None = None
    protocol = "TCP"
    if port_text:
        try:
            port, protocol = parse_port(port_text)
        except ValueError as err:
            fail(f"--port: {err}")
    inventory = inventory_for(paths, snapshot_path, kubeconfig, context, request_timeout)
    model = build_model(inventory)
    try:
        src = resolve_endpoint(model, source)
        dst = resolve_endpoint(model, destination)
    except click.BadParameter as err:
        fail(err.format_message())
    if not isinstance(src, Workload) and not isinstance(dst, Workload):
        fail("one of FROM and TO must be a workload")
    verdict = model.check(src, dst)
    allowed = verdict.allows(port, protocol)
    what = f"{port}/{protocol}" if port is not None else "any port"
    click.echo(f"{'allowed' if allowed else 'denied'}: {src} -> {dst} on {what}")
    if port is None and allowed:
        click.echo(f"  allowed ports: {verdict.ports}")
    for res, label, peer in ((verdict.egress, f"egress from {src}", dst),
                             (verdict.ingress, f"ingress to {dst}", src)):
        for line in _explain(res, label, peer, port, protocol, what):
            click.echo(line)
    if not isinstance(src, (External, Entity)) and not isinstance(dst, (External, Entity)):
        click.echo("  (ipBlock / CIDR peers are treated as cluster-external traffic: pod IPs are "
                   "not known)")
    if model.cilium is not None:
        from kubeward.netpol.cni import cilium_features

        for f in cilium_features(inventory, model):
            if f.workload in (src, dst):
                click.echo(f"  note: {f.policy.kind} {f.policy.name}: {f.feature} for "
                           f"{f.workload.key} ({f.detail}) applies on top, not evaluated here")
    for note in _out_of_scope(inventory):
        click.echo(f"  {note}")
    sys.exit(0 if allowed else 1)


@netpol.command("matrix")
@click.argument("paths", nargs=-1)
@click.option("-n", "--namespace", required=True, help="Namespace whose workloads to compare.")
@click.option("-o", "--output", "fmt", type=click.Choice(["table", "dot", "svg"]), default="table",
              show_default=True)
@input_options
def matrix(paths: tuple[str, ...], namespace: str, fmt: str, snapshot_path: str | None,
           kubeconfig: str | None, context: str | None, request_timeout: float) -> None:
    """The allowed-traffic matrix between the workloads of a namespace (ports per cell).

    \b
    Examples:
      kubeward netpol matrix -n shop k8s/
      kubeward netpol matrix -n shop -o svg k8s/ > shop.svg
    """
    from kubeward.netpol.model import build_model
    from kubeward.netpol.render import matrix_dot, matrix_svg, matrix_table

    inventory = inventory_for(paths, snapshot_path, kubeconfig, context, request_timeout)
    model = build_model(inventory)
    workloads = sorted(model.by_namespace.get(namespace, []), key=lambda w: w.name)
    if not workloads:
        fail(f"no workloads in namespace {namespace}")
    cells = [(a, b, model.check(a, b).ports) for a in workloads for b in workloads]
    if fmt == "dot":
        click.echo(matrix_dot(namespace, workloads, cells), nl=False)
    elif fmt == "svg":
        click.echo(matrix_svg(namespace, workloads, cells), nl=False)
    else:
        click.echo(matrix_table(workloads, cells), nl=False)
        for note in _out_of_scope(inventory):
            click.echo(note, err=True)


@netpol.command("default-deny")
@click.argument("paths", nargs=-1)
@click.option("-n", "--namespace", "namespaces", multiple=True,
              help="Namespace to generate for (repeatable); default: every workload namespace.")
@click.option("--no-dns", is_flag=True, help="Leave out the DNS egress allowance.")
def default_deny(paths: tuple[str, ...], namespaces: tuple[str, ...], no_dns: bool) -> None:
    """Print the default-deny-all NetworkPolicy per namespace and the DNS egress allowance.

    \b
    Examples:
      kubeward netpol default-deny k8s/ > default-deny.yaml
      kubeward netpol default-deny -n shop -n payments | kubectl apply -f -
    """
    import yaml

    from kubeward.generate.seeds import default_deny as deny
    from kubeward.generate.seeds import dns_egress
    from kubeward.netpol.model import build_model
    from kubeward.rules.netpol_basics import SYSTEM_NAMESPACES

    targets = list(namespaces)
    if not targets:
        if not paths:
            fail("give PATHS or -n NAMESPACE")
        from kubeward.inventory.index import Inventory
        from kubeward.inventory.sources import load_paths

        model = build_model(Inventory(load_paths(paths).resources))
        targets = sorted(ns for ns in model.by_namespace if ns not in SYSTEM_NAMESPACES)
    docs: list[dict[str, Any]] = []
    for ns in targets:
        docs.append(deny(ns))
        if not no_dns:
            docs.append(dns_egress(ns))
    click.echo(yaml.safe_dump_all(docs, sort_keys=False) if docs else "", nl=False)


@click.command("isolate")
@click.argument("workload")
@click.argument("paths", nargs=-1)
@click.option("-n", "--namespace", default=None, help="Namespace [default: from WORKLOAD or default].")
@click.option("--apply", "do_apply", is_flag=True,
              help="Create (or update) the policy on the live cluster.")
@input_options
def isolate(workload: str, paths: tuple[str, ...], namespace: str | None, do_apply: bool,
            snapshot_path: str | None, kubeconfig: str | None, context: str | None,
            request_timeout: float) -> None:
    """Emergency isolation of a compromised WORKLOAD (`name` or `namespace/name`).

    Prints a NetworkPolicy selecting exactly the workload's pod labels that denies all
    ingress and egress; --apply creates it on the cluster (POST, or PUT when it exists).
    Pod labels come from PATHS, --snapshot, or the live cluster.

    \b
    Examples:
      kubeward isolate shop/api --apply --context prod
      kubeward isolate api -n shop k8s/ | kubectl apply -f -
    """
    import yaml

    from kubeward.generate.seeds import isolate_workload
    from kubeward.netpol.model import build_model

    ns, slash, name = workload.partition("/")
    if not slash:
        ns, name = namespace or "default", workload
    elif namespace and namespace != ns:
        fail(f"-n {namespace} contradicts {workload}")
    inventory = inventory_for(paths, snapshot_path, kubeconfig, context, request_timeout)
    model = build_model(inventory)
    found = [w for w in model.by_namespace.get(ns, []) if w.name == name]
    if len(found) != 1:
        fail(f"{'no' if not found else 'several'} workload named {name} in namespace {ns}")
    target: Workload = found[0]
    try:
        policy = isolate_workload(ns, name, target.labels)
    except ValueError as err:
        fail(str(err))
    others = [w.name for w in model.by_namespace.get(ns, [])
              if w is not target and all(w.labels.get(k) == v for k, v in target.labels.items())]
    if others:
        click.echo(f"warning: the selector also matches {', '.join(sorted(others))}", err=True)
    allowing = [str(p) for d in ("Ingress", "Egress") for p in model.selecting(target, d)
                if p.rules(d)]
    if model.cilium is not None:
        allowing += [r.where() for r in model.cilium.selecting(target) if r.ingress or r.egress]
    if allowing:
        click.echo(f"warning: policies are additive; these still allow some traffic to or from "
                   f"{name}: {', '.join(sorted(set(allowing)))}", err=True)
    click.echo(yaml.safe_dump(policy, sort_keys=False), nl=False)
    if do_apply:
        from kubeward.inventory.cluster import ClusterError
        from kubeward.netpol.apply import apply_policy

        try:
            verb = apply_policy(policy, kubeconfig, context, request_timeout)
        except ClusterError as err:
            fail(str(err))
        click.echo(f"{verb}: networkpolicy {ns}/{policy['metadata']['name']}", err=True)

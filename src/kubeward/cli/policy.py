"""`kubeward policy apply` and `kubeward policy test`: Kyverno policies, offline.

Semantics: kubeward.policy.kyverno (docs/policy.md). Inputs are read like `kubeward scan`
reads them (kubeward.inventory.sources), so unreadable files and broken documents give the
same `file:line: message` errors; a broken document never stops the rest.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from kubeward.inventory.resource import Resource
    from kubeward.policy.kyverno import RuleResult

__all__ = ["policy_group"]

_STATUSES = ("pass", "fail", "warn", "error", "skip")


@click.group("policy")
def policy_group() -> None:
    """Evaluate Kyverno policies offline (`apply`) and run Kyverno CLI test suites (`test`).

    \b
    Examples:
      kubeward policy apply policies/ k8s/
      kubeward policy apply require-labels.yaml --resource deploy.yaml -o json
      kubeward policy test policies/
    """


def _load(paths: tuple[str, ...] | list[str], problems: list[str] | None = None) -> list[Resource]:
    from kubeward.cli.options import print_errors
    from kubeward.inventory.sources import load_paths

    if not paths:
        return []
    loaded = load_paths(list(paths))
    print_errors(loaded.errors)
    if loaded.errors and not loaded.resources:
        sys.exit(2)
    if problems is not None:
        problems.extend(str(e) for e in loaded.errors)
    return loaded.resources


def _namespace_labels(resources: list[Resource]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for res in resources:
        if res.kind == "Namespace" and res.name:
            out[res.name] = {str(k): str(v) for k, v in res.labels.items()}
    return out


def _is_policy(res: Resource) -> bool:
    from kubeward.policy.kyverno import is_kyverno_policy

    return is_kyverno_policy(res.obj) or res.kind in (
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    )


def _resource_label(res: Resource) -> str:
    parts = [res.kind, res.namespace or "", res.name]
    return "/".join(p for p in parts if p)


@policy_group.command("apply")
@click.argument("paths", nargs=-1)
@click.option(
    "-r",
    "--resource",
    "resource_paths",
    multiple=True,
    metavar="PATH",
    help="Resources to evaluate (file, directory or -). Repeatable. Without it, every "
    "object of PATHS that is not a policy is a resource.",
)
@click.option(
    "-o", "--output", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.option(
    "--operation",
    default="CREATE",
    show_default=True,
    type=click.Choice(["CREATE", "UPDATE", "DELETE", "CONNECT"], case_sensitive=False),
    help="Admission operation the resources are evaluated for.",
)
@click.option(
    "--audit-warn",
    is_flag=True,
    help="Report failures of Audit policies as warn (like kyverno apply --audit-warn).",
)
@click.option("--show-skipped", is_flag=True, help="List skipped rules in the table.")
@click.option(
    "--set",
    "set_values",
    multiple=True,
    metavar="NAME=VALUE",
    help="Value for a variable or context entry, e.g. request.operation=UPDATE. Repeatable.",
)
def apply(
    paths: tuple[str, ...],
    resource_paths: tuple[str, ...],
    fmt: str,
    operation: str,
    audit_warn: bool,
    show_skipped: bool,
    set_values: tuple[str, ...],
) -> None:
    """Apply the Kyverno policies in PATHS to resources; exit 1 when an Enforce rule fails.

    PATHS hold ClusterPolicy / Policy objects and ValidatingAdmissionPolicies with their
    bindings (and, without --resource, the resources too). Mutate rules run first, then
    validate rules on the mutated object, as Kyverno's admission webhook does. Rules for
    Pods also apply to Deployments, CronJobs and the other pod controllers through
    Kyverno's autogen rules. Namespace labels for namespaceSelector come from Namespace
    objects in the input. Exit 0 when no Enforce rule fails and no ValidatingAdmissionPolicy
    denies, 1 when one does, 2 on usage or input errors.

    \b
    Examples:
      kubeward policy apply policies/ k8s/
      kubeward policy apply disallow-latest-tag.yaml --resource pod.yaml
      kubeward policy apply policies/ -r k8s/ --audit-warn -o json
    """
    from kubeward.cli.inputs import fail
    from kubeward.policy.kyverno import evaluate, is_kyverno_policy, load_policies, mutate

    if not paths:
        fail("give the policies (and resources) to apply: kubeward policy apply POLICIES... [-r RESOURCES]")
    if "-" in paths and "-" in resource_paths:
        fail("standard input (-) can be read once: give it to PATHS or to --resource, not both")
    variables: dict[str, Any] = {}
    for item in set_values:
        name, eq, value = item.partition("=")
        if not eq or not name:
            fail(f"--set {item!r}: expected NAME=VALUE")
        variables[name.strip()] = value
    operation = str(variables.pop("request.operation", operation)).upper()
    # input errors (a broken file, a malformed policy): reported, the rest still runs, and
    # the exit code is 2 unless an Enforce rule fails (a policy that could not be loaded
    # enforced nothing: a CI gate must not pass because of a typo in it)
    errors: list[str] = []
    given = _load(paths, errors)
    policy_objs = [r for r in given if is_kyverno_policy(r.obj)]
    resources = [r for r in (_load(resource_paths, errors) if resource_paths else given) if not _is_policy(r)]
    policy_errors: list[str] = []
    policies = load_policies(policy_objs, policy_errors)
    for err in policy_errors:
        click.echo(f"error: {err}", err=True)
    errors.extend(policy_errors)
    vap_rows = _vap_results(given, resources, operation, errors)  # ValidatingAdmissionPolicies too
    vap_count = sum(r.kind == "ValidatingAdmissionPolicy" for r in given)
    if not policies and not vap_count:
        fail(
            "no Kyverno policy (kyverno.io ClusterPolicy / Policy) or ValidatingAdmissionPolicy found in "
            + ", ".join(paths)
        )
    ns_labels = _namespace_labels(resources)
    rows: list[tuple[str, RuleResult]] = []
    for res in resources:
        labels = ns_labels.get(res.namespace or "", {})
        patched, mresults = mutate(
            policies, res.obj, operation=operation, namespace_labels=labels, variables=variables
        )
        label = _resource_label(res)
        rows.extend((label, r) for r in mresults)
        vresults = evaluate(
            policies,
            patched,
            operation=operation,
            namespace_labels=labels,
            variables=variables,
            audit_warn=audit_warn,
        )
        rows.extend((label, r) for r in vresults)
    rows.extend(vap_rows)
    counts = Counter(r.status for _, r in rows)
    enforced_failures = [(lbl, r) for lbl, r in rows if r.status == "fail" and r.enforce]
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "policies": len(policies),
                    "validating_admission_policies": vap_count,
                    "resources": len(resources),
                    "summary": {s: counts.get(s, 0) for s in _STATUSES},
                    "results": [{"resource": lbl, **r.to_dict()} for lbl, r in rows],
                },
                indent=2,
            )
        )
    else:
        _print_table(rows, show_skipped)
        click.echo(
            f"\npass: {counts.get('pass', 0)}, fail: {counts.get('fail', 0)}, "
            f"warn: {counts.get('warn', 0)}, error: {counts.get('error', 0)}, "
            f"skip: {counts.get('skip', 0)}  ({len(policies)} policies, "
            + (f"{vap_count} ValidatingAdmissionPolicies, " if vap_count else "")
            + f"{len(resources)} resources)"
        )
    sys.exit(1 if enforced_failures else 2 if errors else 0)


def _vap_results(
    given: list[Resource], resources: list[Resource], operation: str, errors: list[str]
) -> list[tuple[str, RuleResult]]:
    """ValidatingAdmissionPolicies (+ bindings) among the inputs, run by kubeward.policy.vap.

    Each decision becomes a row: a denial is `fail` with `enforce` (exit 1), a Warn or
    Audit-only failure is `warn` / `fail` without enforce, an evaluation error is `error`.
    Param objects and namespaceObject come from the resources given.
    """
    from kubeward.policy.kyverno import RuleResult

    vap_inputs = [
        r for r in given if r.kind in ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")
    ]
    if not vap_inputs:
        return []
    from kubeward.policy import vap

    vs = vap.load(vap_inputs)
    for err in vs.errors:
        click.echo(f"error: {err}", err=True)
    errors.extend(vs.errors)
    for warning in vs.warnings:
        click.echo(f"warning: {warning}", err=True)
    if not len(vs):
        return []
    namespaces = {r.name: r.obj for r in resources if r.kind == "Namespace"}
    params = [r.obj for r in resources]
    rows: list[tuple[str, RuleResult]] = []
    for res in resources:
        decisions = vs.evaluate(
            res.obj,
            operation=operation,
            namespace_object=namespaces.get(res.namespace or ""),
            params_objects=params,
        )
        for d in decisions:
            if d.error is not None:
                status, message = "error", d.error
            elif d.allowed:
                status, message = "pass", "validations passed"
            elif d.denied:
                status, message = "fail", d.status_message
            elif "Warn" in d.actions:
                status, message = "warn", d.warning or d.message or ""
            else:
                status, message = "fail", d.message or ""
            rule = d.binding or ""
            if d.validation is not None:
                rule = f"{rule} validations[{d.validation}]"
            rows.append(
                (_resource_label(res), RuleResult(f"vap:{d.policy}", rule, status, message, d.denied, "vap"))
            )
    return rows


def _print_table(rows: list[tuple[str, RuleResult]], show_skipped: bool) -> None:
    shown = [(lbl, r) for lbl, r in rows if show_skipped or r.status != "skip"]
    if not shown:
        click.echo("no rule failed, warned or errored" if rows else "no rule applied to any resource")
        return
    headers = ("RESOURCE", "POLICY", "RULE", "RESULT", "MESSAGE")
    table = [
        (
            lbl,
            r.policy,
            r.rule,
            r.status.upper() + (" (enforce)" if r.enforce and r.status == "fail" else ""),
            " ".join(r.message.split()),
        )
        for lbl, r in shown
    ]
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(headers[:-1])]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers[:-1], widths, strict=True)) + "  " + headers[-1])
    for row in table:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1])


@policy_group.command("test")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "-o", "--output", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.option(
    "--file-name",
    default="kyverno-test.yaml",
    show_default=True,
    help="Name of the test files to look for under each directory.",
)
@click.option("--fail-only", is_flag=True, help="Show only the results that do not match.")
def test(paths: tuple[str, ...], fmt: str, file_name: str, fail_only: bool) -> None:
    """Run the Kyverno CLI test suites (kyverno-test.yaml) found under PATHS.

    Every result (policy, rule, resource, expected pass / fail / skip, patchedResource)
    is checked against kubeward's evaluation. Exit 0 when all match, 1 on any mismatch
    or broken test file, 2 when no test file is found.

    \b
    Examples:
      kubeward policy test policies/
      kubeward policy test policies/require-labels/kyverno-test.yaml -o json
    """
    from kubeward.cli.inputs import fail
    from kubeward.policy.testrunner import run_dir

    for p in paths:
        import os

        if not os.path.exists(p):
            fail(f"{p}: no such file or directory")
    files = run_dir(list(paths), file_name)
    if not files:
        fail(f"no {file_name} found under {', '.join(paths)}")
    rows = [r for tf in files for r in tf.rows]
    failed = [r for r in rows if not r.ok]
    errors = [e for tf in files for e in tf.errors]
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "tests": [
                        {
                            "path": tf.path,
                            "name": tf.name,
                            "ok": tf.ok,
                            "errors": tf.errors,
                            "results": [r.to_dict() for r in tf.rows],
                        }
                        for tf in files
                    ],
                    "summary": {
                        "tests": len(files),
                        "results": len(rows),
                        "passed": len(rows) - len(failed),
                        "failed": len(failed),
                        "errors": len(errors),
                    },
                },
                indent=2,
            )
        )
    else:
        for err in errors:
            click.echo(f"error: {err}", err=True)
        for tf in files:
            shown = [r for r in tf.rows if not (fail_only and r.ok)]
            click.echo(f"Test {tf.name} ({tf.path}): {sum(r.ok for r in tf.rows)}/{len(tf.rows)} passed")
            if not shown:
                continue
            table = [
                (str(i), r.policy, r.rule, r.resource, "Pass" if r.ok else "Fail", r.reason)
                for i, r in enumerate(tf.rows, 1)
                if r in shown
            ]
            headers = ("ID", "POLICY", "RULE", "RESOURCE", "RESULT", "REASON")
            widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(headers[:-1])]
            click.echo(
                "  "
                + "  ".join(h.ljust(w) for h, w in zip(headers[:-1], widths, strict=True))
                + "  "
                + headers[-1]
            )
            for row in table:
                click.echo(
                    "  "
                    + "  ".join(c.ljust(w) for c, w in zip(row[:-1], widths, strict=True))
                    + "  "
                    + row[-1]
                )
        click.echo(
            f"\n{len(files)} test file(s), {len(rows) - len(failed)}/{len(rows)} results passed"
            + (f", {len(errors)} error(s)" if errors else "")
        )
    sys.exit(1 if failed or errors else 0)

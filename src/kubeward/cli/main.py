"""The `kubeward` entry point: the command group and the no-traceback guarantee."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from kubeward import __version__
from kubeward.cli.audit import audit, snapshot
from kubeward.cli.completion import completion_cmd
from kubeward.cli.detect import detect_cmd
from kubeward.cli.fix import fix_cmd
from kubeward.cli.generate import generate_group
from kubeward.cli.history import diff_cmd, history_cmd
from kubeward.cli.images import images_cmd
from kubeward.cli.netpol import isolate, netpol
from kubeward.cli.plan import plan
from kubeward.cli.policy import policy_group
from kubeward.cli.pss import pss
from kubeward.cli.rbac import rbac
from kubeward.cli.rbac_from_audit import from_audit
from kubeward.cli.rules import rules_cmd
from kubeward.cli.scan import scan
from kubeward.cli.serve import serve_cmd
from kubeward.cli.version import version_cmd
from kubeward.cli.vulns import db_group, vulns_cmd
from kubeward.cli.webhook import webhook_group

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="kubeward")
def cli() -> None:
    """kubeward: the Kubernetes security checklist, executable.

    \b
    Scan manifests, Helm charts and Kustomize directories against the 2026 hardening
    checklist (RBAC, secrets, Pod Security Standards, NetworkPolicies, images, …); every
    finding says where (file:line), why it matters and how to fix it.

    \b
    Examples:
      kubeward scan deploy/                       # table, exit 1 on findings
      kubeward scan -o sarif deploy/ > kubeward.sarif
      helm template ./chart | kubeward scan -
      kubeward pss check --level restricted k8s/
      kubeward rules -o json
    """


cli.add_command(scan)
cli.add_command(audit)
cli.add_command(snapshot)
cli.add_command(history_cmd)
cli.add_command(diff_cmd)
cli.add_command(plan)
cli.add_command(netpol)
cli.add_command(isolate)
cli.add_command(rbac)
rbac.add_command(from_audit)
cli.add_command(rules_cmd)
cli.add_command(pss)
cli.add_command(policy_group)
cli.add_command(generate_group)
cli.add_command(fix_cmd)
cli.add_command(serve_cmd)
cli.add_command(webhook_group)
cli.add_command(detect_cmd)
cli.add_command(images_cmd)
cli.add_command(vulns_cmd)
cli.add_command(db_group)
cli.add_command(version_cmd)
cli.add_command(completion_cmd)


def _show_usage_error(self: click.UsageError, file: Any = None) -> None:
    """Usage errors in one line, like every other error of kubeward (click prints three)."""
    where = f" (see `{self.ctx.command_path} --help`)" if self.ctx is not None else ""
    click.echo(f"Error: {self.format_message()}{where}", err=True, file=file)


def main() -> None:
    """Run the CLI; unexpected errors print one line (set KUBEWARD_DEBUG=1 for a traceback)."""
    click.UsageError.show = _show_usage_error  # type: ignore[method-assign]
    try:
        cli.main(prog_name="kubeward", standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("kubeward: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        # Output piped into `head` and closed: not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
    except Exception as err:
        if os.environ.get("KUBEWARD_DEBUG"):
            raise
        click.echo(f"kubeward: internal error: {type(err).__name__}: {err} "
                   "(set KUBEWARD_DEBUG=1 for details, and please report it)", err=True)
        sys.exit(3)

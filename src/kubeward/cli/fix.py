"""`kubeward fix` (being built; this module is the command's home)."""

from __future__ import annotations

import click


@click.command("fix")
def fix_cmd() -> None:
    """Apply the seed's hardening to manifests, keeping comments and order.

    \b
    Examples:
      kubeward fix k8s/            # show the diff
      kubeward fix --write k8s/
    """
    raise click.UsageError("`kubeward fix` is not available yet")

"""`kubeward serve` (being built; this module is the command's home)."""

from __future__ import annotations

import click


@click.command("serve")
def serve_cmd() -> None:
    """Run the validating and mutating admission webhook (HTTPS).

    \b
    Examples:
      kubeward serve --tls-cert tls.crt --tls-key tls.key
    """
    raise click.UsageError("`kubeward serve` is not available yet")

"""`kubeward webhook` (being built; this module is the command's home)."""

from __future__ import annotations

import click


@click.group("webhook")
def webhook_group() -> None:
    """Generate what it takes to deploy the admission webhook.

    \b
    Examples:
      kubeward webhook install -n kubeward > webhook.yaml
    """

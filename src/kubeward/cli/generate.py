"""`kubeward generate` (being built; this module is the command's home)."""

from __future__ import annotations

import click


@click.group("generate")
def generate_group() -> None:
    """Write the checklist's policies and configurations, ready to apply.

    \b
    Examples:
      kubeward generate --list
      kubeward generate restrict-image-registries --param registries=ghcr.io/acme/
    """

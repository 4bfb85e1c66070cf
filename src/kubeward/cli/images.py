"""`kubeward images` (being built; this module is the command's home)."""

from __future__ import annotations

import click


@click.command("images")
def images_cmd() -> None:
    """Inventory of every image, its pinning, registry, signature and SBOM.

    \b
    Examples:
      kubeward images k8s/
      kubeward images --context prod -o json
    """
    raise click.UsageError("`kubeward images` is not available yet")

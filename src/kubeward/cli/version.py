"""`kubeward version`: tool and rule-catalog versions."""

from __future__ import annotations

import click


@click.command("version")
def version_cmd() -> None:
    """Print the kubeward version and the rule-catalog version.

    \b
    Examples:
      kubeward version
      kubectl ward version
    """
    from kubeward import __version__
    from kubeward.rules.catalog import CATALOG_VERSION

    click.echo(f"kubeward {__version__} (rule catalog {CATALOG_VERSION})")

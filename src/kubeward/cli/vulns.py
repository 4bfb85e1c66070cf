"""`kubeward vulns` (being built; this module is the command's home)."""

from __future__ import annotations

import click


@click.command("vulns")
def vulns_cmd() -> None:
    """Match SBOMs against the offline vulnerability database.

    \b
    Examples:
      kubeward db import osv.zip
      kubeward vulns sbom.cdx.json --fail-on CRITICAL,HIGH
    """
    raise click.UsageError("`kubeward vulns` is not available yet")


@click.group("db")
def db_group() -> None:
    """The offline vulnerability database (OSV format, SQLite).

    \b
    Examples:
      kubeward db import osv-data.zip
    """

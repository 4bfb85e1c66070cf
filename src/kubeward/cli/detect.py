"""`kubeward detect` (being built; this module is the command's home)."""

from __future__ import annotations

import click


@click.command("detect")
def detect_cmd() -> None:
    """Threat detection on Kubernetes audit logs.

    \b
    Examples:
      kubeward detect /var/log/kubernetes/audit.log
      kubeward detect --follow audit.log -o json
    """
    raise click.UsageError("`kubeward detect` is not available yet")

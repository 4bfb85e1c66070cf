"""`kubeward policy` (being built; this module is the command's home)."""

from __future__ import annotations

import click


@click.group("policy")
def policy_group() -> None:
    """Evaluate Kyverno policies and ValidatingAdmissionPolicies offline.

    \b
    Examples:
      kubeward policy apply policies/ k8s/
      kubeward policy test policies/tests/
    """

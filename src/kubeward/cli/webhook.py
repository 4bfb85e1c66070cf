"""`kubeward webhook install`: the manifests to deploy `kubeward serve` (docs/webhook.md)."""

from __future__ import annotations

import click

from kubeward.cli.inputs import fail

__all__ = ["webhook_group"]

_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


@click.group("webhook")
def webhook_group() -> None:
    """Generate what it takes to deploy the admission webhook.

    \b
    Examples:
      kubeward webhook install -n kubeward > webhook.yaml
      kubeward webhook install --cert-manager | kubectl apply -f -
    """


@webhook_group.command("install")
@click.option("-n", "--namespace", default="kubeward", show_default=True, help="Namespace of the webhook.")
@click.option(
    "--name",
    default="kubeward-webhook",
    show_default=True,
    help="Name of the Deployment, Service and webhook configurations.",
)
@click.option(
    "--image",
    default="ghcr.io/kubeward/kubeward:0.1.0",
    show_default=True,
    help="Image to run (pin a digest: NAME@sha256:...).",
)
@click.option("--replicas", default=2, show_default=True, type=click.IntRange(1, 20))
@click.option(
    "--failure-policy",
    type=click.Choice(["Fail", "Ignore"]),
    default="Fail",
    show_default=True,
    help="What the API server does when the webhook cannot answer.",
)
@click.option(
    "--timeout",
    "timeout_seconds",
    default=10,
    show_default=True,
    type=click.IntRange(3, 30),
    help="timeoutSeconds of the webhook configurations (the server answers within this minus 2 s).",
)
@click.option(
    "--cert-manager",
    is_flag=True,
    help="Use cert-manager (Issuer + Certificate, CA injected) instead of a generated certificate.",
)
@click.option(
    "--cert-days",
    default=365,
    show_default=True,
    type=click.IntRange(1, 3650),
    help="Validity of the generated serving certificate.",
)
@click.option(
    "-o",
    "--output-file",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write the YAML here (mode 0600) instead of stdout.",
)
def install_cmd(
    namespace: str,
    name: str,
    image: str,
    replicas: int,
    failure_policy: str,
    timeout_seconds: int,
    cert_manager: bool,
    cert_days: int,
    output_file: str | None,
) -> None:
    """Print the webhook's manifests: certificate, Namespace, ServiceAccount, ConfigMap,
    Service, Deployment, PodDisruptionBudget, NetworkPolicies and the Mutating and
    Validating WebhookConfigurations (with the CA bundle).

    Without --cert-manager a new CA and serving certificate are generated: the output then
    holds a private key (a Secret); keep it out of version control.

    \b
    Examples:
      kubeward webhook install -n kubeward -o webhook.yaml && kubectl apply -f webhook.yaml
      kubeward webhook install --cert-manager --failure-policy Ignore | kubectl apply -f -
    """
    import os
    import re

    from kubeward.webhook.install import InstallOptions, manifests, to_yaml

    for label, value in (("namespace", namespace), ("name", name)):
        if not re.match(_NAME, value) or len(value) > 63:
            fail(f"--{label} {value!r} is not a valid Kubernetes name (lower case, digits, '-')")
    if not image.strip() or any(c.isspace() for c in image):
        fail(f"--image {image!r} is not an image reference (e.g. ghcr.io/kubeward/kubeward@sha256:...)")
    opts = InstallOptions(
        namespace, name, image, replicas, failure_policy, timeout_seconds, cert_manager, cert_days
    )
    issued = None
    if not cert_manager:
        from kubeward.webhook.pki import issue_serving

        issued = issue_serving(
            [f"{name}.{namespace}.svc", f"{name}.{namespace}.svc.cluster.local"], days=cert_days
        )
    header = "# kubeward admission webhook: `kubectl apply -f` this file (docs/webhook.md).\n"
    text = to_yaml(manifests(opts, issued), header)
    if output_file:
        try:
            fd = os.open(output_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
        except OSError as err:
            fail(f"{output_file}: cannot write: {err}")
    else:
        click.echo(text, nl=False)
    if issued is not None:
        click.echo(
            f"note: the output contains the private key of the serving certificate (Secret "
            f"{namespace}/{name}-tls); do not commit it. Use --cert-manager to let cert-manager "
            "issue and rotate it.",
            err=True,
        )

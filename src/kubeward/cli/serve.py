"""`kubeward serve`: the validating and mutating admission webhook (docs/webhook.md)."""

from __future__ import annotations

import logging
import sys

import click

from kubeward.cli.inputs import fail

__all__ = ["serve_cmd"]


@click.command("serve")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Webhook configuration (rule sets, modes per namespace, exemptions, failure policy).",
)
@click.option(
    "--tls-cert",
    required=True,
    type=click.Path(dir_okay=False),
    help="Serving certificate (PEM); reloaded when the file changes.",
)
@click.option("--tls-key", required=True, type=click.Path(dir_okay=False), help="Its private key (PEM).")
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")  # noqa: S104
@click.option("--port", default=8443, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--cert-reload-interval",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.1, 3600),
    help="Seconds between checks of the certificate files.",
)
@click.option(
    "--log-level", default="info", show_default=True, type=click.Choice(["debug", "info", "warning", "error"])
)
def serve_cmd(
    config_path: str | None,
    tls_cert: str,
    tls_key: str,
    host: str,
    port: int,
    cert_reload_interval: float,
    log_level: str,
) -> None:
    """Run the validating and mutating admission webhook (HTTPS).

    Endpoints: /validate and /mutate (AdmissionReview admission.k8s.io/v1), /healthz,
    /readyz, /metrics (Prometheus). The same rules as `kubeward scan` (PSS engine, kubeward
    rules, your Kyverno policies and ValidatingAdmissionPolicies) in enforce, warn or audit
    mode per rule set and namespace. `kubeward webhook install` writes the manifests.

    \b
    Examples:
      kubeward serve --tls-cert tls.crt --tls-key tls.key
      kubeward serve --config webhook.yaml --tls-cert /tls/tls.crt --tls-key /tls/tls.key --port 8443
    """
    import ssl
    from pathlib import Path

    from kubeward.config import ConfigError, load_config
    from kubeward.webhook.app import AppState
    from kubeward.webhook.config import WebhookConfigError, load_webhook_config
    from kubeward.webhook.evaluate import Evaluator
    from kubeward.webhook.metrics import Metrics
    from kubeward.webhook.policies import load_policy_set
    from kubeward.webhook.server import ServeOptions, serve

    logging.basicConfig(
        stream=sys.stderr, level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        config = load_webhook_config(config_path)
        scan_config = load_config(Path(config.scan_config)) if config.scan_config else None
    except (WebhookConfigError, ConfigError) as err:
        fail(str(err))
    try:  # fail now, with the file named, rather than inside the server's start-up
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(tls_cert, tls_key)
    except (OSError, ssl.SSLError) as err:
        fail(f"{tls_cert} / {tls_key}: cannot load the serving certificate: {err}")
    policies = load_policy_set(config.policy_files)
    for problem in policies.errors:  # a broken policy never stops the others
        click.echo(f"warning: {problem}", err=True)
    if config.policy_files:
        click.echo(f"loaded {policies.describe()} from {', '.join(config.policy_files)}", err=True)
    state = AppState(Evaluator(config, scan_config, policies), Metrics.create())
    try:
        serve(ServeOptions(tls_cert, tls_key, host, port, cert_reload_interval, log_level), state)
    except OSError as err:
        fail(f"cannot listen on {host}:{port}: {err}")

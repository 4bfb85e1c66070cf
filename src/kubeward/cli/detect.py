"""`kubeward detect`: threat detection on Kubernetes audit logs (files, stdin, --follow,
the audit webhook backend), or `--check-policy` of an audit policy against the rules."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

SEVERITIES = ("info", "low", "medium", "high", "critical")


def _load_rules(rule_files: tuple[str, ...]) -> Any:
    from kubeward.detect.rules import RuleFileError, load_rules

    try:
        return load_rules([Path(p) for p in rule_files])
    except RuleFileError as err:
        raise click.UsageError(str(err)) from None


def _check_policy(path: str, ruleset: Any) -> None:
    from kubeward.detect.auditpolicy import check_audit_policy, validate_policy
    from kubeward.detect.rules import read_config_text
    from kubeward.inventory import yamlio

    try:
        text = read_config_text(Path(path))
    except (OSError, ValueError) as exc:
        raise click.UsageError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    docs = [d for d in yamlio.load_documents(text)]
    for doc in docs:
        if isinstance(doc, yamlio.LoadError):
            raise click.UsageError(f"{path}:{doc.line}: {doc.message}")
    policies = [d for d in docs if isinstance(d, yamlio.Document) and d.data is not None]
    if len(policies) != 1:
        raise click.UsageError(f"{path}: expected one audit Policy document, found {len(policies)}")
    problem = validate_policy(policies[0].data)
    if problem:
        raise click.UsageError(f"{path}:{policies[0].line}: {problem}")
    gaps = check_audit_policy(policies[0].data, ruleset.rules)
    for gap in gaps:
        click.echo(f"{path}: {gap}")
    blind = sorted({g.rule_id for g in gaps})
    ok = len(ruleset.rules) - len(blind)
    click.echo(
        f"{ok} of {len(ruleset.rules)} rules see what they need"
        + (f"; gaps in: {', '.join(blind)}" if blind else ""),
        err=True,
    )
    sys.exit(1 if gaps else 0)


def _list_rules(ruleset: Any) -> None:
    for rule in ruleset.rules:
        click.echo(f"{rule.id:28} {rule.severity.label:8} {rule.mitre:40} {rule.title}")
    for rule_id in ruleset.disabled:
        click.echo(f"{rule_id:28} disabled")


def _sinks(
    output: str,
    output_file: str | None,
    webhook_url: str | None,
    syslog: str | None,
    syslog_format: str,
    syslog_tcp: bool,
) -> list[Any]:
    from kubeward.detect import sinks

    out: list[Any] = [sinks.JsonSink() if output == "json" else sinks.HumanSink()]
    try:
        if output_file:
            out.append(sinks.FileSink(output_file))
        if syslog:
            out.append(sinks.SyslogSink(syslog, fmt=syslog_format, tcp=syslog_tcp))
    except (OSError, ValueError) as exc:
        raise click.UsageError(f"cannot open output: {exc}") from None
    if webhook_url:
        if not webhook_url.startswith(("http://", "https://")):
            raise click.BadParameter(
                "the webhook URL must start with http:// or https://", param_hint="--webhook-url"
            )
        out.append(sinks.WebhookSink(webhook_url))
    return out


class _MinSeverity:
    def __init__(self, inner: Any, minimum: str) -> None:
        self.inner, self.rank = inner, SEVERITIES.index(minimum)

    def emit(self, alert: dict[str, Any]) -> None:
        if SEVERITIES.index(alert["severity"]) >= self.rank:
            self.inner.emit(alert)

    def close(self) -> None:
        self.inner.close()


def _summary(pipeline: Any) -> None:
    stats = pipeline.detector.stats
    click.echo(
        f"kubeward detect: {stats.events} events, {pipeline.alerts} alerts, {stats.malformed} malformed",
        err=True,
    )
    for where in stats.malformed_where:
        click.echo(f"  malformed: {where}", err=True)
    for example in stats.cel_error_examples:
        click.echo(f"  rule error: {example}", err=True)
    for sink in pipeline.sinks:
        sink = getattr(sink, "inner", sink)  # under --min-severity
        failed, dropped = getattr(sink, "failed", 0), getattr(sink, "dropped", 0)
        if failed or dropped:
            what = "webhook" if hasattr(sink, "dropped") else "syslog"
            click.echo(f"  {what}: {failed} alerts not delivered, {dropped} dropped (queue full)"
                       if dropped else f"  {what}: {failed} alerts not delivered", err=True)


def _parse_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"{listen!r}: use HOST:PORT, e.g. 127.0.0.1:8443", param_hint="--listen")
    return host.strip("[]"), int(port)


@click.command("detect")
@click.argument("sources", nargs=-1, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-f", "--follow", is_flag=True, help="Keep reading the files as they grow (survives rotation).")
@click.option(
    "--listen",
    metavar="HOST:PORT",
    help="Receive the API server's audit webhook (EventList batches) over HTTPS.",
)
@click.option(
    "--tls-cert", type=click.Path(exists=True, dir_okay=False), help="Serving certificate (PEM) for --listen."
)
@click.option(
    "--tls-key", type=click.Path(exists=True, dir_okay=False), help="Private key (PEM) for --listen."
)
@click.option(
    "--insecure-http", is_flag=True, help="Serve --listen over plain HTTP (tests, or behind a TLS proxy)."
)
@click.option(
    "--max-body",
    type=click.IntRange(1024),
    default=32 * 1024 * 1024,
    show_default=True,
    help="Largest webhook body accepted (bytes).",
)
@click.option(
    "--rules",
    "rule_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Rules file adding/overriding rules, lists and macros (repeatable).",
)
@click.option(
    "-o",
    "--output",
    type=click.Choice(["human", "json"]),
    default="human",
    show_default=True,
    help="Format on stdout.",
)
@click.option(
    "--output-file", type=click.Path(dir_okay=False), help="Also append alerts as JSON lines to this file."
)
@click.option(
    "--webhook-url", help="Also POST each alert (Slack-compatible JSON with all fields) to this URL."
)
@click.option("--syslog", metavar="HOST:PORT|/dev/log", help="Also send alerts to syslog.")
@click.option(
    "--syslog-format", type=click.Choice(["rfc5424", "rfc3164"]), default="rfc5424", show_default=True
)
@click.option("--syslog-tcp", is_flag=True, help="Syslog over TCP instead of UDP.")
@click.option(
    "--dedup-window",
    type=click.FloatRange(0),
    default=60.0,
    show_default=True,
    help="Seconds (event time) within which the same alert is folded into one.",
)
@click.option(
    "--min-severity",
    type=click.Choice(SEVERITIES),
    default="info",
    show_default=True,
    help="Drop alerts below this severity.",
)
@click.option(
    "--metrics-port", type=click.IntRange(1, 65535), help="Serve Prometheus /metrics on 127.0.0.1:PORT."
)
@click.option(
    "--check-policy",
    "check_policy",
    type=click.Path(dir_okay=False),
    help="Check that this audit Policy logs what the rules need, then exit (1 on gaps).",
)
@click.option("--list-rules", is_flag=True, help="List the rules in effect, then exit.")
def detect_cmd(
    sources: tuple[str, ...],
    follow: bool,
    listen: str | None,
    tls_cert: str | None,
    tls_key: str | None,
    insecure_http: bool,
    max_body: int,
    rule_files: tuple[str, ...],
    output: str,
    output_file: str | None,
    webhook_url: str | None,
    syslog: str | None,
    syslog_format: str,
    syslog_tcp: bool,
    dedup_window: float,
    min_severity: str,
    metrics_port: int | None,
    check_policy: str | None,
    list_rules: bool,
) -> None:
    """Threat detection on Kubernetes audit logs.

    Reads audit events (JSON lines, EventList batches; audit.k8s.io v1, v1beta1 or without
    apiVersion) from files, stdin (`-`), a followed file, or the API server's audit webhook,
    runs the detection rules (CEL conditions, see --list-rules and docs/detect.md) and
    prints one alert per line. Malformed lines are counted and reported on stderr. Exit 0
    when every source was read (alerts or not), 2 on usage errors or when a source could
    not be read (the others are still processed).

    \b
    Examples:
      kubeward detect /var/log/kubernetes/audit.log
      kubeward detect --follow audit.log -o json
      zcat audit.log.gz | kubeward detect - --min-severity high
      kubeward detect --listen 0.0.0.0:8443 --tls-cert tls.crt --tls-key tls.key \\
          --webhook-url https://hooks.slack.com/services/... --metrics-port 9109
      kubeward detect --rules my-rules.yaml --list-rules
      kubeward detect --check-policy /etc/kubernetes/audit-policy.yaml
    """
    ruleset = _load_rules(rule_files)
    if list_rules:
        _list_rules(ruleset)
        return
    if check_policy:
        _check_policy(check_policy, ruleset)
        return
    if listen and not insecure_http and not (tls_cert and tls_key):
        raise click.UsageError("--listen needs --tls-cert and --tls-key (the API server only talks HTTPS)")
    if (tls_cert or tls_key) and not listen:
        raise click.UsageError("--tls-cert/--tls-key go with --listen")
    if follow and (not sources or "-" in sources):
        raise click.UsageError("--follow needs file paths (stdin is read to its end anyway)")
    if not sources and not listen:
        if sys.stdin.isatty():
            raise click.UsageError("give audit log files, `-` for stdin, or --listen")
        sources = ("-",)
    for source in sources:
        if source != "-" and not follow and not Path(source).is_file():
            raise click.UsageError(f"{source}: no such file")

    from kubeward.detect.engine import Detector
    from kubeward.detect.pipeline import Pipeline

    sinks = _sinks(output, output_file, webhook_url, syslog, syslog_format, syslog_tcp)
    if min_severity != "info":
        sinks = [_MinSeverity(s, min_severity) for s in sinks]
    pipeline = Pipeline(Detector(ruleset, dedup_window=dedup_window), sinks)
    registry = None
    if metrics_port or listen:
        from kubeward.detect.metrics import registry_for, serve

        registry = registry_for(pipeline.detector.stats)
        if metrics_port:
            try:
                serve(registry, metrics_port)
            except OSError as exc:
                raise click.UsageError(f"--metrics-port {metrics_port}: {exc.strerror or exc}") from None
    stop = threading.Event()
    _UNREADABLE.clear()
    try:
        if listen:
            _run_listener(pipeline, sources, follow, listen, tls_cert, tls_key, max_body, registry, stop)
        else:
            _run_sources(pipeline, sources, follow, stop)
    finally:
        stop.set()
        pipeline.finish()
        _summary(pipeline)
    if _UNREADABLE:
        # every other source was processed; a missing input is still an input error
        sys.exit(2)


#: Sources that could not be read in this run (exit code 2 once the others are processed).
_UNREADABLE: list[str] = []


def _read_source(pipeline: Any, source: str, follow: bool, stop: threading.Event) -> None:
    from kubeward.detect.sources import follow_lines, read_lines, read_path

    stats = pipeline.detector.stats
    if follow:
        pipeline.feed(read_lines(follow_lines(source, stop), source, stats))
        return
    import zlib

    try:
        pipeline.feed(read_path(source, stats))
    except OSError as exc:
        _UNREADABLE.append(source)
        click.echo(f"kubeward detect: {source}: {exc.strerror or exc}", err=True)
    except (EOFError, zlib.error) as exc:
        _UNREADABLE.append(source)
        # a truncated .gz (a rotated log still being compressed): the events before the
        # damage were processed; the other sources still run (EOFError reached click as
        # "Aborted!" and stopped the run)
        click.echo(f"kubeward detect: {source}: damaged or truncated gzip data ({exc})", err=True)


def _run_sources(pipeline: Any, sources: tuple[str, ...], follow: bool, stop: threading.Event) -> None:
    if not follow:
        for source in sources:
            _read_source(pipeline, source, False, stop)
        return
    threads = [
        threading.Thread(target=_read_source, args=(pipeline, s, True, stop), daemon=True) for s in sources
    ]
    for thread in threads:
        thread.start()
    _wait_for_signal(stop)
    for thread in threads:
        thread.join(timeout=5)


def _wait_for_signal(stop: threading.Event) -> None:
    def handler(signum: int, frame: Any) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        stop.set()
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_listener(
    pipeline: Any,
    sources: tuple[str, ...],
    follow: bool,
    listen: str,
    tls_cert: str | None,
    tls_key: str | None,
    max_body: int,
    registry: Any,
    stop: threading.Event,
) -> None:
    import uvicorn

    from kubeward.detect.server import AuditReceiver, build_app

    host, port = _parse_listen(listen)
    receiver = AuditReceiver(pipeline)
    app = build_app(receiver, max_body=max_body, registry=registry)
    readers = [
        threading.Thread(target=_read_source, args=(pipeline, s, follow, stop), daemon=True) for s in sources
    ]
    for thread in readers:
        thread.start()
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    click.echo(
        f"kubeward detect: listening on {'http' if not tls_cert else 'https'}://{host}:{port}", err=True
    )
    # uvicorn handles SIGINT/SIGTERM while it runs and re-raises the signal afterwards
    # (Server.capture_signals): with these handlers in place the re-raised signal only sets
    # `stop`, so the queued batches are drained and the summary printed before we exit.
    previous = {
        sig: signal.signal(sig, lambda signum, frame: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        server.run()
    except (OSError, SystemExit) as exc:
        raise click.UsageError(f"--listen {listen}: {exc}") from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        stop.set()
        receiver.drain()
        for thread in readers:
            thread.join(timeout=5)

"""What `scan` and `audit` share: report options, settings resolution, output, exit code."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kubeward.cli.history import SAVE_OPTION

if TYPE_CHECKING:
    from kubeward.config import Config
    from kubeward.exceptions import ExceptionEntry
    from kubeward.findings import Severity
    from kubeward.history import Target
    from kubeward.scan import ScanReport

SEVERITIES = ("info", "low", "medium", "high", "critical")
F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = [
    click.option("-o", "--output", "fmt",
                 type=click.Choice(["table", "json", "sarif", "junit", "html", "prometheus"]),
                 default="table", show_default=True, help="Report format."),
    click.option("--output-file", metavar="FILE", help="Write the report to FILE (atomically)."),
    click.option("--fail-on", type=click.Choice(SEVERITIES, case_sensitive=False), default=None,
                 help="Exit 1 when a finding at or above this severity remains [default: low]."),
    click.option("--config", "config_path", metavar="FILE",
                 help="Config file (default: .kubeward.yaml found upward from the first path)."),
    click.option("--no-config", is_flag=True, help="Ignore any .kubeward.yaml."),
    click.option("--exceptions", "exceptions_file", metavar="FILE",
                 help="YAML file of exceptions (rule, kind, namespace, name, reason, expires)."),
    click.option("--strict", multiple=True, metavar="RULE",
                 help="Rule id (glob) whose findings no exception may suppress. Repeatable."),
    click.option("--rule", "only", multiple=True, metavar="RULE",
                 help="Run only these rule ids (globs, e.g. 'pss.*'). Repeatable."),
    click.option("--skip-rule", multiple=True, metavar="RULE", help="Skip these rule ids (globs)."),
    click.option("--allowed-registry", multiple=True, metavar="REGISTRY",
                 help="Allowed image registry or prefix (adds to the config's list)."),
    click.option("--pss-level", type=click.Choice(["baseline", "restricted"]), default=None,
                 help="Pod Security Standards level to check [default: restricted]."),
    click.option("--pss-version", default=None, metavar="VERSION",
                 help="PSS version, e.g. v1.30 or latest [default: latest]."),
    click.option("--show-suppressed", is_flag=True, help="List suppressed findings in the table."),
    click.option("--color/--no-color", default=None, help="Colour the table [default: on a TTY]."),
    SAVE_OPTION,
]


def report_options(fn: F) -> F:
    for option in reversed(_OPTIONS):
        fn = option(fn)
    return fn


@dataclass(slots=True)
class Settings:
    config: Config
    extra_exceptions: list[ExceptionEntry]
    strict: tuple[str, ...]
    threshold: Severity
    fmt: str
    output_file: str | None
    color: bool | None
    show_suppressed: bool
    save: str | None = None  # history store ("" = the default store)
    target: Target | None = None
    started: dt.datetime | None = None


def resolve(config_start: Sequence[str], opts: dict[str, Any]) -> Settings:
    """Config file + command-line options -> the settings of one run (usage errors exit 2)."""
    from kubeward.cli.options import load_config_for
    from kubeward.findings import Severity

    config = load_config_for(config_start, opts["config_path"], opts["no_config"])
    config.disabled = (*config.disabled, *opts["skip_rule"])
    if opts["only"]:
        config.enabled_only = opts["only"]
    config.allowed_registries = (*config.allowed_registries, *opts["allowed_registry"])
    if opts["pss_level"]:
        config.pss_level = opts["pss_level"]
    if opts["pss_version"]:
        config.pss_version = opts["pss_version"]
    _validate_pss(config.pss_level, config.pss_version)
    extra = _load_exceptions_file(opts["exceptions_file"]) if opts["exceptions_file"] else []
    fail_on = opts["fail_on"]
    threshold = Severity.parse(fail_on) if fail_on else (config.fail_on or Severity.LOW)
    return Settings(config, extra, tuple(opts["strict"]), threshold, opts["fmt"],
                    opts["output_file"], opts["color"], opts["show_suppressed"],
                    save=opts["save"], started=dt.datetime.now(dt.UTC))


def finish(report: ScanReport, settings: Settings) -> None:
    """Print messages to stderr, the report to stdout (or the file), and exit."""
    from kubeward.cli.options import print_errors, use_color, write_output

    print_errors(report.errors)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    for problem in report.exceptions.invalid:
        click.echo(f"warning: {problem}", err=True)
    for entry in report.exceptions.expired:
        click.echo(f"warning: expired exception {entry.describe()} (expired {entry.expires})",
                   err=True)
    for entry in report.exceptions.unused:
        click.echo(f"note: unused exception {entry.describe()}", err=True)
    if report.exceptions.strict_overrides:
        click.echo(f"note: {report.exceptions.strict_overrides} exception(s) not honoured "
                   "for --strict rules", err=True)

    fmt = settings.fmt
    if fmt == "table":
        import io

        from kubeward.report.table import render_table

        buf = io.StringIO()
        render_table(report, buf, color=use_color(settings.color),
                     show_suppressed=settings.show_suppressed)
        write_output(buf.getvalue(), settings.output_file)
    elif fmt == "json":
        from kubeward.report.json_report import render_json

        write_output(render_json(report), settings.output_file)
    elif fmt == "sarif":
        from kubeward.report.sarif import render_sarif

        write_output(render_sarif(report), settings.output_file)
    elif fmt == "html":
        from kubeward.report.html import render_html

        write_output(render_html(report), settings.output_file)
    elif fmt == "prometheus":
        from kubeward.report.prometheus import render_prometheus

        write_output(render_prometheus(report), settings.output_file)
    else:
        from kubeward.report.junit import render_junit

        write_output(render_junit(report), settings.output_file)
    if fmt != "table":
        from kubeward.report.table import summary_line

        click.echo(summary_line(report), err=True)

    if report.errors and not report.inventory:
        # Nothing could be read (missing paths, unparsable input, unrendered charts): a
        # clean exit would pass a CI gate that checked nothing.
        sys.exit(2)
    if settings.save is not None and settings.target is not None:
        from kubeward.cli.history import save_or_fail

        save_or_fail(report, settings.save, settings.target, settings.started)
    sys.exit(1 if report.failed(settings.threshold) else 0)


def _validate_pss(level: str, version: str) -> None:
    from kubeward import pss

    try:
        pss.parse_level(level)
        pss.parse_version(version)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--pss-level/--pss-version") from None


def _load_exceptions_file(path: str) -> list[ExceptionEntry]:
    from pathlib import Path

    from kubeward.exceptions import parse_entries
    from kubeward.inventory.yamlio import LoadError, load_documents

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise click.BadParameter(f"{path}: {err}", param_hint="--exceptions") from None
    docs = list(load_documents(text))
    bad = next((d for d in docs if isinstance(d, LoadError)), None)
    if bad is not None:
        raise click.BadParameter(f"{path}:{bad.line}: {bad.message}", param_hint="--exceptions")
    data = docs[0].data if docs else []  # type: ignore[union-attr]
    if isinstance(data, dict):
        data = data.get("exceptions", [])
    if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
        raise click.BadParameter(f"{path}: expected a list of exceptions", param_hint="--exceptions")
    entries, problems = parse_entries(data, path)
    if problems:
        raise click.BadParameter("; ".join(problems), param_hint="--exceptions")
    return entries

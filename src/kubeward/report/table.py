"""The human report: findings grouped by checklist item, worst first, colour only on a TTY."""

from __future__ import annotations

from collections import defaultdict
from typing import IO, TYPE_CHECKING

from kubeward.checklist import item
from kubeward.findings import Finding, Severity
from kubeward.scan import ScanReport

if TYPE_CHECKING:
    from rich.console import Console

_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def summary_line(report: ScanReport) -> str:
    counts = report.counts()
    parts = [f"{n} {sev.label}" for sev, n in sorted(counts.items(), reverse=True) if n]
    text = f"{len(report.active)} findings" + (f" ({', '.join(parts)})" if parts else "")
    text += f" in {len(report.inventory)} resources from {report.inputs} inputs"
    if report.suppressed:
        text += f"; {len(report.suppressed)} suppressed by exceptions"
    if report.errors:
        text += f"; {len(report.errors)} input errors"
    return text


def render_table(report: ScanReport, out: IO[str], *, color: bool, width: int | None = None,
                 show_suppressed: bool = False) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=out, force_terminal=color, no_color=not color, width=width or 160,
                      highlight=False, soft_wrap=False)
    shown = report.findings if show_suppressed else report.active
    groups: dict[int, list[Finding]] = defaultdict(list)
    for f in shown:
        groups[f.rule.checklist].append(f)
    for number in sorted(groups):
        findings = groups[number]
        console.print(Text(f"\n{number}. {item(number).title}  ({len(findings)})", style="bold"))
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False,
                      expand=False)
        table.add_column("SEVERITY", no_wrap=True)
        table.add_column("RULE", no_wrap=True)
        table.add_column("OBJECT", overflow="fold")
        table.add_column("LOCATION", overflow="fold")
        table.add_column("FINDING", overflow="fold", ratio=1)
        for f in findings:
            sev = Text(f.severity.label.upper(), style=_STYLE[f.severity])
            if f.suppressed:
                sev = Text("SUPPRESSED", style="dim")
            loc = f"{f.file}:{f.line}" if f.file and f.line else f.file
            table.add_row(sev, f.rule.id, f.resource.ref if f.resource else "", loc, f.message)
        console.print(table)
    fixes = {f.rule.id: f.rule for f in report.active}
    if fixes:
        console.print(Text("\nHow to fix", style="bold"))
        for rule in sorted(fixes.values(), key=lambda r: (-r.severity, r.id)):
            console.print(Text.assemble((f"  {rule.id}: ", "bold"), rule.remediation))
    render_checklist(report, console)
    console.print()
    console.print(Text(summary_line(report), style="bold"))


_STATUS_STYLE = {"met": "green", "partly": "yellow", "not-met": "bold red", "unknown": "dim"}


def render_checklist(report: ScanReport, console: Console) -> None:
    """The compact checklist: one line per item (number, title, status, findings)."""
    from rich.text import Text

    from kubeward.posture import assess

    posture = assess(report)
    console.print(Text(f"\nChecklist posture {posture.score}/100", style="bold"))
    width = max(len(ip.title) for ip in posture.items)
    for ip in posture.items:
        count = "-" if ip.status == "unknown" else str(ip.findings)
        console.print(Text.assemble(f"  {ip.number:>2}  {ip.title:<{width}}  ",
                                    (f"{ip.status:<8}", _STATUS_STYLE[ip.status]),
                                    f"  {count:>5}"))

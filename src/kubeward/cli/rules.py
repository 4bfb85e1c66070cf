"""`kubeward rules`: the rule catalog as a table, JSON or Markdown (the docs page)."""

from __future__ import annotations

import click


@click.command("rules")
@click.option("-o", "--output", "fmt", type=click.Choice(["table", "json", "markdown"]),
              default="table", show_default=True)
def rules_cmd(fmt: str) -> None:
    """List every rule: id, severity, checklist item, references.

    \b
    Examples:
      kubeward rules
      kubeward rules -o json | jq '.[] | select(.severity=="critical")'
      kubeward rules -o markdown > docs/rules.md
    """
    from kubeward.rules.catalog import load_catalog

    rules = load_catalog()
    if fmt == "json":
        import orjson

        from kubeward.report.common import rule_dict

        click.echo(orjson.dumps([rule_dict(r) for r in rules], option=orjson.OPT_INDENT_2))
    elif fmt == "markdown":
        from kubeward.report.rules_doc import rules_markdown

        click.echo(rules_markdown(rules), nl=False)
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(box=None, header_style="bold")
        for col in ("ID", "SEVERITY", "ITEM", "TITLE", "CIS", "MITRE"):
            table.add_column(col)
        for r in rules:
            table.add_row(r.id, r.severity.label, str(r.checklist), r.title,
                          " ".join(r.refs.cis), " ".join(r.refs.mitre))
        Console(width=200, highlight=False).print(table)

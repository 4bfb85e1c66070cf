"""The HTML report: one self-contained file (inline CSS, JS and SVG; nothing fetched).

    kubeward scan -o html --output-file report.html k8s/

The overview (score, the 13 checklist items, charts by item and by severity) is rendered
here, escaped with `html.escape`. The findings travel as one JSON block (every `<` written as
`\\u003c`, so no value can close the script element) that `data/report.js` renders with
`textContent` only: a filterable, paginated table (filters: severity, checklist item, rule,
free text; also read from the URL hash, e.g. `report.html#severity=critical&item=3`) and one
view per object (`report.html#obj-12`) with the YAML excerpt around each finding and its fix.

The allowed-traffic picture (`_netpol_section`): for the 10 namespaces with most workloads,
the NetworkPolicy + Cilium reachability matrix as inline SVG drawn by
`kubeward.netpol.render` (no Graphviz), each with the text table in a <details>.

Secrets stay redacted: Secret objects and findings of `secrets.*` rules get no excerpt, and
every excerpt is cut to its own object's document and scrubbed of Secret data values and of
the values secrets.* rules flagged in the same input.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Iterable
from importlib import resources
from typing import Any

import orjson

from kubeward import __version__
from kubeward.checklist import ITEMS
from kubeward.findings import Finding, Severity
from kubeward.inventory.resource import Resource
from kubeward.posture import Posture, assess
from kubeward.report.common import dotted
from kubeward.report.table import summary_line
from kubeward.scan import ScanReport

_BEFORE, _AFTER, _MAX_COL = 3, 3, 240
_REDACTED = "<redacted>"
_SEV_COLOR = {"critical": "#b71c1c", "high": "#e65100", "medium": "#f9a825", "low": "#0277bd",
              "info": "#78909c"}
_STATUS_LABEL = {"met": "met", "partly": "partly", "not-met": "not met", "unknown": "cannot tell"}

# Nothing may be fetched: the page only runs its own inline style and script.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

e = html.escape


def _asset(name: str) -> str:
    return resources.files("kubeward").joinpath("data", name).read_text(encoding="utf-8")


# --------------------------------------------------------------------------- secrets


def _value_at(obj: Any, path: Iterable[str | int]) -> Any:
    for step in path:
        if isinstance(step, int) and isinstance(obj, list) and 0 <= step < len(obj):
            obj = obj[step]
        elif isinstance(step, str) and isinstance(obj, dict):
            obj = obj.get(step)
        else:
            return None
    return obj


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _secret_values(value: Any, key: str = "") -> Iterable[str]:
    """Every string in an object that looks like a credential, whatever rules are enabled:
    a well-known token shape, or a plausible literal under a secret-sounding key or env name."""
    from kubeward.secretscan import known_token, looks_like_secret_name, plausible_secret_value

    if isinstance(value, str):
        if known_token(value) is not None or (
                key and looks_like_secret_name(key) and plausible_secret_value(value)):
            yield value
    elif isinstance(value, dict):
        name = value.get("name")
        if isinstance(name, str) and isinstance(value.get("value"), str):
            yield from _secret_values(value["value"], name)
        for k, v in value.items():
            yield from _secret_values(v, str(k))
    elif isinstance(value, list):
        for v in value:
            yield from _secret_values(v, key)


class _Secrets:
    """Values that must never appear in an excerpt, by input (source path)."""

    def __init__(self, report: ScanReport) -> None:
        self.values: dict[str, set[str]] = {}
        self.hidden: set[int] = set()  # id() of objects shown without any excerpt
        for res in report.inventory.of_kind("Secret"):
            self.hidden.add(id(res))
            for key in ("data", "stringData"):
                self._add(res, _strings(res.obj.get(key)))
        with_findings = {id(f.resource): f.resource for f in report.findings if f.resource}
        for res in with_findings.values():
            self._add(res, _secret_values(res.obj))
        for f in report.findings:
            if f.resource is None or not f.rule.id.startswith("secrets."):
                continue
            if f.resource.kind in ("ConfigMap", "Secret"):
                self.hidden.add(id(f.resource))
            value = _value_at(f.resource.obj, f.path)
            if isinstance(value, str):  # the literal a rule flagged (not a secretKeyRef)
                self._add(f.resource, (value,))

    def _add(self, res: Resource, values: Iterable[str]) -> None:
        bucket = self.values.setdefault(res.origin.source.path, set())
        for value in values:
            # A block scalar spans lines: each of its lines must be scrubbed on its own.
            for part in (value, *value.splitlines()):
                part = part.strip()
                if len(part) >= 3:
                    bucket.add(part)

    def scrub(self, source: str, lines: list[str]) -> list[str]:
        values = self.values.get(source)
        if not values:
            return lines
        out = []
        for line in lines:
            for v in values:
                if v in line:
                    line = line.replace(v, _REDACTED)
            out.append(line)
        return out


# --------------------------------------------------------------------------- excerpts


class _Excerpts:
    def __init__(self, secrets: _Secrets) -> None:
        self.secrets = secrets
        self.keys: dict[tuple[str, int, int], int] = {}
        self.table: list[list[Any]] = []  # [first line, [lines]]
        self._lines: dict[str, list[str] | None] = {}
        self._sensitive_cache: dict[int, bool] = {}

    def _sensitive(self, res: Resource) -> bool:
        """Objects whose excerpt could show a secret get none, whatever rules ran.

        Secret-looking values are scrubbed from every excerpt (see `_Secrets`); what cannot
        be scrubbed reliably gets no excerpt: kubectl's last-applied copy (values re-encoded
        as JSON) and items of a List (the excerpt could spill into neighbouring items)."""
        key = id(res)
        cached = self._sensitive_cache.get(key)
        if cached is None:
            ann = res.annotations
            cached = bool(res.origin.prefix) or _LAST_APPLIED in ann
            self._sensitive_cache[key] = cached
        return cached

    def _text_lines(self, res: Resource) -> list[str] | None:
        src = res.origin.source
        if src.path not in self._lines:
            text = src.content()
            self._lines[src.path] = text.splitlines() if text is not None else None
        return self._lines[src.path]

    def _bounds(self, res: Resource) -> tuple[int, int] | None:
        doc = res.origin.doc
        text = res.origin.source.content()
        if doc is None or text is None:
            return None
        first = text.count("\n", 0, doc.start) + 1
        last = first + text.count("\n", doc.start, doc.end)
        return first, last

    def of(self, f: Finding) -> int | None:
        """Index of the excerpt for a finding, or None when none may or can be shown."""
        res = f.resource
        if res is None or not f.line or f.rule.id.startswith("secrets.") \
                or id(res) in self.secrets.hidden or res.origin.source.kind in ("cluster",
                                                                               "snapshot"):
            return None
        if self._sensitive(res):
            return None
        lines = self._text_lines(res)
        bounds = self._bounds(res)
        if lines is None or bounds is None:
            return None
        start = max(bounds[0], f.line - _BEFORE)
        end = min(bounds[1], f.line + _AFTER, len(lines))
        if start > end:
            return None
        key = (res.origin.source.path, start, end)
        index = self.keys.get(key)
        if index is None:
            chunk = [ln if len(ln) <= _MAX_COL else ln[:_MAX_COL] + "…"
                     for ln in lines[start - 1:end]]
            index = self.keys[key] = len(self.table)
            self.table.append([start, self.secrets.scrub(res.origin.source.path, chunk)])
        return index


# --------------------------------------------------------------------------- data


def _fix_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def report_data(report: ScanReport) -> dict[str, Any]:
    """The JSON the page script renders: rules, objects, excerpts and findings."""
    excerpts = _Excerpts(_Secrets(report))
    rules: dict[str, int] = {}
    rule_rows: list[list[Any]] = []
    objects: dict[int, int] = {}
    object_rows: list[list[Any]] = []
    rows: list[list[Any]] = []
    for f in report.findings:
        if f.rule.id not in rules:
            rules[f.rule.id] = len(rule_rows)
            rule_rows.append([f.rule.id, f.rule.title, f.rule.checklist, f.rule.remediation])
        obj = -1
        if f.resource is not None:
            key = id(f.resource)
            if key not in objects:
                objects[key] = len(object_rows)
                object_rows.append([f.resource.ref, f.resource.display_path])
            obj = objects[key]
        fixes = [f"{dotted(x.path)}: {_fix_text(x.value)} — {x.description}" for x in f.fixes]
        rows.append([
            int(f.severity), rules[f.rule.id], obj, f.line or 0, f.message,
            excerpts.of(f), fixes,
            None if f.suppressed is None else f.suppressed.reason,
        ])
    return {
        "severities": [s.label for s in Severity],
        "items": {str(it.number): it.title for it in ITEMS},
        "rules": rule_rows,
        "objects": object_rows,
        "excerpts": excerpts.table,
        "findings": rows,
    }


# --------------------------------------------------------------------------- charts


def _bar_chart(title: str, bars: list[tuple[str, int, str]], label_width: int = 70) -> str:
    """A horizontal bar chart as inline SVG."""
    height, gap, width = 18, 6, 300
    top = max((n for _, n, _ in bars), default=0) or 1
    out = [f'<svg class="chart" role="img" aria-label="{e(title)}" width="{label_width + width + 60}" '
           f'height="{len(bars) * (height + gap) + 4}" xmlns="http://www.w3.org/2000/svg">']
    for i, (label, n, color) in enumerate(bars):
        y = i * (height + gap) + 2
        w = round(width * n / top) if n else 0
        out.append(f'<text x="{label_width - 6}" y="{y + 13}" text-anchor="end">{e(label)}</text>'
                   f'<rect x="{label_width}" y="{y}" width="{w}" height="{height}" '
                   f'fill="{color}"><title>{e(label)}: {n}</title></rect>'
                   f'<text x="{label_width + w + 4}" y="{y + 13}">{n}</text>')
    out.append("</svg>")
    return "".join(out)


def _charts(report: ScanReport) -> str:
    by_sev = report.counts()
    sev_bars = [(s.label, by_sev[s], _SEV_COLOR[s.label]) for s in sorted(Severity, reverse=True)]
    by_item = Counter(f.rule.checklist for f in report.active)
    item_bars = [(f"{it.number}. {it.slug}", by_item[it.number], "#5c6bc0") for it in ITEMS]
    return (f'<div class="charts"><figure><figcaption>Findings by checklist item</figcaption>'
            f"{_bar_chart('Findings by checklist item', item_bars, 150)}</figure>"
            f"<figure><figcaption>Findings by severity</figcaption>"
            f"{_bar_chart('Findings by severity', sev_bars)}</figure></div>")


# --------------------------------------------------------------------------- netpol picture

_NETPOL_NAMESPACES, _NETPOL_NODES = 10, 30


def _netpol_section(report: ScanReport) -> str:
    """The allowed-traffic matrix per namespace (empty when the input has no workloads)."""
    from kubeward.netpol.model import build_model
    from kubeward.netpol.render import namespace_pictures

    model = build_model(report.inventory)
    if not model.workloads:
        return ""
    head = '<section id="netpol-matrix"><h2>Allowed traffic between workloads</h2>'
    if not model.policies and model.cilium is None:
        return (head + '<p class="note">No NetworkPolicy or Cilium policy in this input: every '
                "workload can reach every other on every port.</p></section>")
    pictures, total = namespace_pictures(model, _NETPOL_NAMESPACES, _NETPOL_NODES)
    notes = ["Arrows: traffic the NetworkPolicies and Cilium L3/L4 policies allow (source to "
             "destination, labelled with the ports); `kubeward netpol can-reach` explains one."]
    if total > len(pictures):
        notes.append(f"Showing the {len(pictures)} namespaces with most workloads of {total}; "
                     "`kubeward netpol matrix -n NS -o svg` draws any other.")
    parts = [head, *(f'<p class="note">{e(n)}</p>' for n in notes), '<div class="netpol-pictures">']
    for pic in pictures:
        cut = (f"; first {pic.shown} of {pic.workloads} workloads by name"
               if pic.shown < pic.workloads else "")
        parts.append(
            f'<figure class="netpol" data-namespace="{e(pic.namespace)}">'
            f"<figcaption>Namespace {e(pic.namespace)}: {pic.allowed} of {pic.shown * pic.shown} "
            f"source/destination pairs allowed{e(cut)}</figcaption>{pic.svg}"
            f"<details><summary>as a table</summary><pre>{e(pic.table)}</pre></details></figure>")
    parts.append("</div></section>")
    return "".join(parts)


# --------------------------------------------------------------------------- page


def _checklist(posture: Posture) -> str:
    rows = []
    for ip in posture.items:
        sev = ", ".join(f"{n} {s}" for s, n in ip.by_severity.items() if n) or "—"
        worst = ", ".join(ip.worst) or "—"
        score = "—" if ip.score is None else f"{round(ip.score * 100)}"
        rows.append(
            f'<tr class="item status-{e(ip.status)}" data-item="{ip.number}">'
            f"<td>{ip.number}</td><td>{e(ip.title)}</td>"
            f'<td><span class="badge status-{e(ip.status)}">{e(_STATUS_LABEL[ip.status])}</span></td>'
            f"<td>{score}</td>"
            f'<td><a href="#item={ip.number}">{ip.findings}</a></td><td>{e(sev)}</td>'
            f"<td>{ip.checked}</td><td>{e(worst)}</td><td>{e(ip.next_action)}</td></tr>")
    return ('<table id="checklist"><thead><tr><th>#</th><th>Checklist item</th><th>Status</th>'
            "<th>Score</th><th>Findings</th><th>By severity</th><th>Objects checked</th>"
            "<th>Worst objects</th><th>Next action</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def _json_for_script(data: Any) -> str:
    raw = orjson.dumps(data).decode()
    return raw.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_html(report: ScanReport) -> bytes:
    posture = assess(report)
    data = report_data(report)
    sev_options = "".join(f'<option value="{s.label}">{s.label}</option>'
                          for s in sorted(Severity, reverse=True))
    item_options = "".join(f'<option value="{it.number}">{it.number}. {e(it.title)}</option>'
                           for it in ITEMS)
    rule_options = "".join(f'<option value="{e(r[0])}">{e(r[0])}</option>'
                           for r in sorted(data["rules"]))
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<title>kubeward report — posture {posture.score}/100</title>
<style>{_asset("report.css")}</style></head>
<body>
<header><h1>kubeward report</h1>
<p class="meta">kubeward {e(__version__)} · {e(summary_line(report))}</p></header>
<section id="overview">
<div class="score" id="score"><span class="value">{posture.score}</span><span class="of">/100</span>
<span class="label">checklist posture</span></div>
{_charts(report)}
</section>
<section><h2>Checklist</h2>{_checklist(posture)}
<p class="note">Status and score are explained in docs/posture.md; “cannot tell” means this input
holds nothing the item's checks could observe.</p></section>
{_netpol_section(report)}
<section id="findings-section"><h2>Findings</h2>
<form id="filters" onsubmit="return false">
<label>Severity <select id="f-severity"><option value="">any</option>{sev_options}</select></label>
<label>Checklist item <select id="f-item"><option value="">any</option>{item_options}</select></label>
<label>Rule <select id="f-rule"><option value="">any</option>{rule_options}</select></label>
<label>Text <input id="f-q" type="search" placeholder="object, file, message"></label>
<label><input id="f-suppressed" type="checkbox"> show suppressed</label>
<button id="f-reset" type="button">reset</button>
</form>
<p id="count" aria-live="polite"></p>
<table id="findings"><thead><tr><th>Severity</th><th>Item</th><th>Rule</th><th>Object</th>
<th>Location</th><th>Finding</th></tr></thead><tbody></tbody></table>
<nav id="pager"></nav>
</section>
<section id="object-view" hidden></section>
<noscript><p>The findings table needs JavaScript; the overview above does not.</p></noscript>
<script id="kubeward-data" type="application/json">{_json_for_script(data)}</script>
<script>{_asset("report.js")}</script>
</body></html>
"""
    return page.encode("utf-8")

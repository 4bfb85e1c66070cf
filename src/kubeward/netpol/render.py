"""The allowed-traffic matrix of a namespace as a text table, Graphviz DOT, or inline SVG.

The SVG is drawn here (no Graphviz binary is assumed), so it can be inlined in the HTML
report; `namespace_pictures` picks the namespaces the report shows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from kubeward.netpol.model import Model, Workload
from kubeward.netpol.ports import PortSet

__all__ = ["Cell", "NamespacePicture", "matrix_dot", "matrix_svg", "matrix_table",
           "namespace_pictures"]

Cell = tuple[Workload, Workload, PortSet]


def _cell(ports: PortSet) -> str:
    if not ports:
        return "-"
    return "all" if ports.is_all else str(ports)


def matrix_table(workloads: Sequence[Workload], cells: Sequence[Cell]) -> str:
    """Rows are sources, columns destinations; a cell lists the allowed ports, `-` none."""
    names = [w.name for w in workloads]
    lookup = {(a.name, b.name): p for a, b, p in cells}
    header = ["from \\ to", *names]
    rows = [[a, *(_cell(lookup[(a, b)]) for b in names)] for a in names]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in [header, *rows]]
    return "\n".join(lines) + "\n"


def _dot_id(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def matrix_dot(namespace: str, workloads: Sequence[Workload], cells: Sequence[Cell]) -> str:
    """A Graphviz digraph: one node per workload, one edge per allowed (source, destination)."""
    out = [f"digraph {_dot_id('netpol ' + namespace)} {{", "  rankdir=LR;",
           "  node [shape=box, style=rounded];"]
    out += [f"  {_dot_id(w.name)};" for w in workloads]
    for a, b, ports in cells:
        if ports:
            out.append(f"  {_dot_id(a.name)} -> {_dot_id(b.name)} [label={_dot_id(_cell(ports))}];")
    out.append("}")
    return "\n".join(out) + "\n"


def matrix_svg(namespace: str, workloads: Sequence[Workload], cells: Sequence[Cell],
               uid: str = "") -> str:
    """Self-contained SVG (no Graphviz needed): workloads on a circle, arrows for allowed
    traffic labelled with the ports; a self-loop is drawn as a small circle. `uid` makes
    the marker id unique when several pictures share one HTML page."""
    n = max(len(workloads), 1)
    radius = 60 + 30 * n
    size = 2 * radius + 240
    cx = cy = size / 2
    pos = {w.name: (cx + radius * math.cos(2 * math.pi * i / n - math.pi / 2),
                    cy + radius * math.sin(2 * math.pi * i / n - math.pi / 2))
           for i, w in enumerate(workloads)}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size:.0f}" height="{size:.0f}" '
             f'viewBox="0 0 {size:.0f} {size:.0f}" font-family="sans-serif" font-size="11">',
             f"<title>NetworkPolicy matrix: {escape(namespace)}</title>",
             f'<defs><marker id="arrow{uid}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
             'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
             'fill="#2563eb"/></marker></defs>']
    for a, b, ports in cells:
        if not ports:
            continue
        (x1, y1), (x2, y2) = pos[a.name], pos[b.name]
        label = escape(_cell(ports))
        if a.name == b.name:
            parts.append(f'<circle cx="{x1:.1f}" cy="{y1 - 28:.1f}" r="12" fill="none" '
                         f'stroke="#2563eb"><title>{escape(a.name)} -&gt; itself: {label}</title>'
                         "</circle>")
            continue
        dx, dy = x2 - x1, y2 - y1
        dist = math.hypot(dx, dy) or 1.0
        sx, sy = x1 + dx / dist * 30, y1 + dy / dist * 30
        ex, ey = x2 - dx / dist * 30, y2 - dy / dist * 30
        parts.append(f'<line x1="{sx:.1f}" y1="{sy:.1f}" x2="{ex:.1f}" y2="{ey:.1f}" '
                     f'stroke="#2563eb" marker-end="url(#arrow{uid})"><title>{escape(a.name)} -&gt; '
                     f"{escape(b.name)}: {label}</title></line>")
        parts.append(f'<text x="{(sx + ex) / 2:.1f}" y="{(sy + ey) / 2 - 3:.1f}" '
                     f'text-anchor="middle" fill="#1e3a8a">{label}</text>')
    for w in workloads:
        x, y = pos[w.name]
        parts.append(f'<g><ellipse cx="{x:.1f}" cy="{y:.1f}" rx="30" ry="16" fill="#f1f5f9" '
                     f'stroke="#334155"/><text x="{x:.1f}" y="{y + 30:.1f}" text-anchor="middle">'
                     f"{escape(w.name)}</text></g>")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


@dataclass(slots=True, frozen=True)
class NamespacePicture:
    namespace: str
    workloads: int  # in the namespace
    shown: int  # drawn (the first `max_nodes` by name)
    svg: str
    table: str
    allowed: int  # (source, destination) pairs with some port allowed


def namespace_pictures(model: Model, limit: int = 10, max_nodes: int = 30
                       ) -> tuple[list[NamespacePicture], int]:
    """The matrix pictures of the `limit` namespaces with most workloads (ties by name), at
    most `max_nodes` workloads each; also the number of namespaces with workloads."""
    ranked = sorted(((len(ws), ns) for ns, ws in model.by_namespace.items() if ws),
                    key=lambda x: (-x[0], x[1]))
    out = []
    for i, (count, ns) in enumerate(ranked[:limit]):
        workloads = sorted(model.by_namespace[ns], key=lambda w: (w.name, w.kind))[:max_nodes]
        cells = [(a, b, model.check(a, b).ports) for a in workloads for b in workloads]
        out.append(NamespacePicture(ns, count, len(workloads),
                                    matrix_svg(ns, workloads, cells, uid=f"-np{i}"),
                                    matrix_table(workloads, cells),
                                    sum(1 for _, _, p in cells if p)))
    return out, len(ranked)
